"""At least 200 random fault plans per run (hypothesis): whatever the broker and the consumers
do wrong, every event ends handled, dead-lettered or (only when committing before handling)
lost by design, and the trace accounts for each. With commits after handling plus an
idempotent consumer, no event is lost and every effect happens exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from hypothesis import event, given, settings
from hypothesis import strategies as st

from eda_lib import Consumer, ConsumerCrash, Event, InMemoryBroker, PaymentSuccessful, Producer
from eda_lib.faults import BrokerFaults, ConsumerFaults, CrashOnce
from eda_lib.resilience import InMemoryProcessedEvents, RetryPolicy
from tests.contract import payment


@dataclass(frozen=True)
class Plan:
    partitions: int
    events: int
    members: int
    drop: float
    duplicate: float
    reorder: bool
    crash_before_commit: frozenset[int]
    crash_after_commit: frozenset[int]
    crash_mid_handler: frozenset[int]
    poison: frozenset[int]
    seed: int


numbers = st.frozensets(st.integers(0, 24), max_size=3)
plans = st.builds(
    Plan,
    partitions=st.integers(1, 3),
    events=st.integers(1, 25),
    members=st.integers(1, 2),
    drop=st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.0]),
    duplicate=st.sampled_from([0.0, 0.2, 0.5]),
    reorder=st.booleans(),
    crash_before_commit=numbers,
    crash_after_commit=numbers,
    crash_mid_handler=numbers,
    poison=st.frozensets(st.integers(0, 24), max_size=2),
    seed=st.integers(0, 10_000),
)


async def _run(plan: Plan, semantics: str) -> tuple[InMemoryBroker, list[str]]:
    broker = InMemoryBroker(seed=plan.seed)
    await broker.create_topic("payments", partitions=plan.partitions)
    producer = Producer(broker)
    for n in range(plan.events):
        await producer.send("payments", payment(n, order=f"order-{n % 4}"))
    broker.faults = BrokerFaults(
        drop=plan.drop, duplicate=plan.duplicate, reorder=plan.reorder, seed=plan.seed
    )
    effects: list[str] = []
    dies_mid_handler = CrashOnce(frozenset(f"pay-{n}" for n in plan.crash_mid_handler))

    def handle(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        if int(event.payment_id[4:]) in plan.poison:
            raise ValueError("poison: this payment always fails")
        if dies_mid_handler(event):
            raise ConsumerCrash("died in the middle of handling")
        effects.append(event.payment_id)

    faults = ConsumerFaults(
        crash_before_commit=CrashOnce(frozenset(f"pay-{n}" for n in plan.crash_before_commit)),
        crash_after_commit=CrashOnce(frozenset(f"pay-{n}" for n in plan.crash_after_commit)),
    )
    options = (
        {"commit": "each", "idempotency": InMemoryProcessedEvents()}
        if semantics == "effect once"
        else {"commit": "before"}
    )
    consumers = [
        Consumer(
            broker,
            "g",
            "payments",
            handle,
            name=f"m{i}",
            batch_size=4,
            faults=faults,
            retry=RetryPolicy(max_attempts=2, base_delay=0.0, jitter=0.0),
            **options,
        )  # type: ignore[arg-type]
        for i in range(plan.members)
    ]
    for round_ in range(60):  # bounded: crashed members restart, faults need a few rounds
        if round_ == 30:
            broker.faults = None  # the network heals: whatever was missed must come now
        for consumer in consumers:
            if not consumer.running:
                await consumer.start()
            await consumer.run()
        if (await broker.describe()).group("g").total_lag == 0:
            break
    return broker, effects


def _accounted(broker: InMemoryBroker, plan: Plan, effects: list[str]) -> Counter[str]:
    """How each event ended: 'handled', 'dead-lettered' or 'lost'; fails if any is neither."""
    stored = {(h.partition, h.offset) for h in broker.trace.select("stored", topic="payments")}
    ids = {h.event_id: f"pay-{i}" for i, h in enumerate(broker.trace.select("produced"))}
    dead = {ids[h.event_id] for h in broker.trace.select("dead_lettered", group="g")}
    crashed_at = {(h.partition, h.offset) for h in broker.trace.select("crashed", group="g")}
    produced, stored_hops = broker.trace.select("produced"), broker.trace.select("stored")
    where = {
        ids[p.event_id]: (s.partition, s.offset)
        for p, s in zip(produced, stored_hops[: len(produced)], strict=True)
    }
    outcome: Counter[str] = Counter()
    for n in range(plan.events):
        name = f"pay-{n}"
        if name in effects:
            outcome["handled"] += 1
        elif name in dead:
            outcome["dead-lettered"] += 1
        else:
            # Lost by design: it died in a handler after its commit.
            assert n in plan.crash_mid_handler, f"{name} is unaccounted for"
            outcome["lost"] += 1
    assert len(stored) == plan.events
    lost_at = {
        where[f"pay-{n}"]
        for n in range(plan.events)
        if f"pay-{n}" not in effects and f"pay-{n}" not in dead
    }
    assert lost_at <= crashed_at  # every loss happened where the trace shows a crash
    return outcome


@settings(max_examples=200, deadline=None)
@given(plans)
def test_commit_after_handling_plus_idempotency_applies_every_effect_once(plan: Plan) -> None:
    broker, effects = asyncio.run(_run(plan, "effect once"))
    counts = Counter(effects)
    for n in range(plan.events):
        expected = 0 if n in plan.poison else 1
        assert counts[f"pay-{n}"] == expected, f"pay-{n} applied {counts[f'pay-{n}']} times"
    outcome = _accounted(broker, plan, effects)
    assert outcome["lost"] == 0
    faulty = plan.drop or plan.duplicate or plan.crash_before_commit or plan.crash_mid_handler
    event("faults injected" if faulty else "no faults")
    assert outcome["dead-lettered"] == len([n for n in plan.poison if n < plan.events])


@settings(max_examples=200, deadline=None)
@given(plans)
def test_commit_before_handling_may_lose_but_never_repeats_and_accounts_for_all(
    plan: Plan,
) -> None:
    broker, effects = asyncio.run(_run(plan, "at most once"))
    assert max(Counter(effects).values(), default=0) <= 1  # never twice
    outcome = _accounted(broker, plan, effects)
    crashed = {(h.partition, h.offset) for h in broker.trace.select("crashed", group="g")}
    assert outcome["lost"] <= len(crashed)  # each loss is at a recorded crash
    event("at most once: some lost" if outcome["lost"] else "at most once: none lost")
