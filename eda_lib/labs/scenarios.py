"""Small scripted failures a lesson runs and prints (lesson 12)."""

from __future__ import annotations

from typing import Literal

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.faults import ConsumerFaults, CrashOnce
from eda_lib.messaging import Consumer, ConsumerCrash, Producer
from eda_lib.resilience import ProcessedEvents


async def crash_scenario(
    commit: Literal["each", "before"],
    *,
    crash: Literal["after the effect", "before the effect", "between the effect and its id"],
    idempotency: ProcessedEvents | None = None,
) -> list[str]:
    """Three payments; the shipping consumer dies once at `pay-1`: right after its effect and
    the record of its id (before the commit), in the middle of handling it (before the effect),
    or between the effect and the record of its id (the idempotent consumer's gap); then it
    restarts. Returns the effects in the order they happened."""
    async with InMemoryBroker(clock=VirtualClock()) as broker:
        await broker.create_topic("payments")
        await Producer(broker).send_all(
            "payments",
            [
                PaymentSuccessful(
                    payment_id=f"pay-{n}",
                    order_id=f"order-{n}",
                    amount=1000 * (n + 1),
                    currency="USD",
                )
                for n in range(3)
            ],
        )
        effects: list[str] = []
        dies = CrashOnce(frozenset({"pay-1"}))

        def ship(event: PaymentSuccessful) -> None:
            if crash == "before the effect" and dies(event):
                raise ConsumerCrash("died before the effect")
            effects.append(event.payment_id)
            if crash == "between the effect and its id" and dies(event):
                raise ConsumerCrash("died after the effect, before its id was recorded")

        faults = ConsumerFaults(crash_before_commit=dies if crash == "after the effect" else None)
        consumer = Consumer(
            broker,
            "shipping",
            "payments",
            ship,
            name="s",
            commit=commit,
            idempotency=idempotency,
            faults=faults,
            start="earliest",
        )
        for _ in range(2):  # run, crash, restart, run
            await consumer.start()
            await consumer.run()
        await consumer.stop()
        return effects
