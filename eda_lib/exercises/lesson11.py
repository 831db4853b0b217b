"""Self-checking exercises of lesson 11 (publish/subscribe): a fraud subscriber, and a publisher
that wraps another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eda_lib.brokers.base import BrokerUnavailable, DeliveryReport, StartFrom
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentUpdated
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.pubsub import BrokerPublisher
from eda_lib.resilience import settle


class _StartsRecorded(InMemoryBroker):
    """An in-memory broker that remembers what each group joined with: its topics, and where it
    asked to start (the `start=` of the learner's `BrokerSubscriber`)."""

    def __init__(self) -> None:
        super().__init__()
        self.joined: dict[str, tuple[tuple[str, ...], StartFrom]] = {}

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None:
        self.joined.setdefault(group, (tuple(topics), start))
        await super().join(group, topics, member=member, start=start)


FRAUD_AMOUNTS = (5_000, 25_000, 10_001, 10_000, 1_001)
"""Exactly 100.00 is not over it; 10.01 catches a threshold ten times too small."""
_AMOUNT_OF = {f"pay-{n}": amount for n, amount in enumerate(FRAUD_AMOUNTS)}
LATEST_HINT = (
    'BrokerSubscriber(broker, start="earliest"): a new group starts where `start` says, as '
    "Kafka's auto.offset.reset does (its default is latest: only what comes after the group "
    "joins); the course's subscriber sets auto.offset.reset to earliest"
)
WAIT_HINT = (
    "wait until the handler has seen all 5: "
    "assert await settle(lambda: subscription.handled == 5), then await subscription.cancel()"
)


async def check_fraud_subscriber(
    subscribe: Callable[[Any, Callable[..., Awaitable[bool]]], Awaitable[list[str]]],
) -> Check:
    """Lesson 11, exercise 1: given the broker, make a `BrokerSubscriber`, subscribe a 'fraud'
    group that collects the payment ids of updates over 100.00, wait, and return them. The five
    updates are published before the group subscribes, so it must start at "earliest"."""
    broker = _StartsRecorded()
    await broker.create_topic("payment-update", partitions=2)
    publisher = BrokerPublisher(broker)
    for n, amount in enumerate(FRAUD_AMOUNTS):
        await publisher.publish(
            "payment-update",
            PaymentUpdated(
                payment_id=f"pay-{n}",
                order_id=f"order-{n}",
                amount=amount,
                currency="usd",
                status="success",
            ),
        )

    try:
        flagged: Any = await subscribe(broker, settle)  # a learner's may return anything
    except Exception as error:
        if broker.joined.get("fraud", ((), "earliest"))[1] != "earliest":
            return _started_late(broker)
        return crashed(
            error,
            "subscriber = BrokerSubscriber(broker, start=...), then "
            "await subscriber.subscribe('payment-update', 'fraud', handler)",
        )
    if "fraud" not in broker.joined:
        return fail(
            "no 'fraud' group subscribed",
            "subscriber = BrokerSubscriber(broker, start=...), then "
            "await subscriber.subscribe('payment-update', 'fraud', handler)",
        )
    topics, start = broker.joined["fraud"]
    if topics != ("payment-update",):
        return fail(
            f"the fraud group subscribed to {list(topics)}",
            "subscribe to the topic the updates are on: 'payment-update'",
        )
    if start != "earliest":
        return _started_late(broker)
    if not isinstance(flagged, list):
        return fail(
            f"your function returned {type(flagged).__name__}, not the list of payment ids",
            "return flagged, the list your handler appends to",
        )
    at_return = sorted(flagged)
    state = await broker.describe()
    still_running = state.has_group("fraud") and bool(state.group("fraud").members)
    # A subscription left running goes on handling: give it a moment (bounded), then look again.
    await settle(lambda: _all_read(broker), timeout=2.0)
    unread = await _unread_now(broker)
    if unread:
        return fail(
            f"the fraud group stopped with {unread} of 5 updates unread",
            WAIT_HINT,
        )
    final = sorted(flagged)
    if final and not set(final) <= set(_AMOUNT_OF):
        return fail(
            f"flagged {final}: these are not the updates' payment ids",
            "collect event.payment_id (not the order id, the event id or the event)",
        )
    if final != ["pay-1", "pay-2"]:
        return fail(
            f"flagged {final}, of amounts {[_AMOUNT_OF[p] for p in final if p in _AMOUNT_OF]}",
            "over 100.00 means amount > 10_000, in minor units (12000 is 120.00)"
            + (": exactly 10_000 is not over it" if "pay-3" in final else ""),
        )
    if at_return != final:
        return fail(
            f"your function returned {at_return}; its handler flagged {final} afterwards",
            WAIT_HINT,
        )
    if still_running:
        return fail(
            "the fraud subscription was still running when your function returned",
            "await subscription.cancel() once the handler has seen all 5: it leaves the group",
        )
    return Check(
        True, "the fraud group read every update from the earliest and flagged the two large ones"
    )


def _started_late(broker: _StartsRecorded) -> Check:
    start = broker.joined["fraud"][1]
    return fail(
        f"the fraud group started at {start!r}: the 5 updates were published before it "
        "subscribed, so it never saw them",
        LATEST_HINT,
    )


async def _all_read(broker: _StartsRecorded) -> bool:
    return await _unread_now(broker) == 0


async def _unread_now(broker: _StartsRecorded) -> int:
    state = await broker.describe()
    return state.group("fraud").total_lag if state.has_group("fraud") else 0


async def check_auditing_publisher(publisher_class: Any) -> Check:
    """Lesson 11, exercise 2: a publisher that wraps another, passes each publish on, returns
    its delivery report, and keeps the ids of the events it published in `published`."""
    updates = [
        PaymentUpdated(
            payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency="usd", status="ok"
        )
        for n in range(3)
    ]
    async with InMemoryBroker(seed=11) as broker:
        await broker.create_topic("payment-update", partitions=2)
        try:
            auditing = publisher_class(BrokerPublisher(broker, "audited"))
            reports = [await auditing.publish("payment-update", u) for u in updates]
        except Exception as error:
            return fail(
                f"your code raised {type(error).__name__}: {error}",
                "publish(topic, event) awaits self.inner.publish(topic, event)",
            )
        stored = sum(p.end_offset for p in (await broker.describe()).topic("payment-update"))
    if stored != 3:
        return fail(
            f"{stored} of 3 updates reached the broker",
            "pass every publish on to the publisher you wrap",
        )
    if any(getattr(r, "offset", None) is None for r in reports):
        return fail(
            "publish did not return the delivery report", "return what inner.publish returns"
        )
    if list(getattr(auditing, "published", [])) != [u.id for u in updates]:
        return fail(
            "published does not hold the 3 event ids, in order",
            "append event.id after the inner publish went through",
        )
    return await _check_a_failed_publish(publisher_class, updates)


class _RefusesOne:
    """A publisher whose broker is down for one event: it raises for that one, as
    `BrokerPublisher` does when the broker will not take an event."""

    def __init__(self, inner: BrokerPublisher, refused: Event) -> None:
        self.inner, self.refused = inner, refused

    async def publish(self, topic: str, event: Event) -> DeliveryReport:
        if event.id == self.refused.id:
            raise BrokerUnavailable("the broker is down. Fix: retry later")
        return await self.inner.publish(topic, event)


async def _check_a_failed_publish(publisher_class: Any, updates: list[PaymentUpdated]) -> Check:
    """The same three updates over a publisher that refuses the second: its error must reach
    the caller, and its id must not be in `published`."""
    outcomes = []
    async with InMemoryBroker(seed=11) as broker:
        await broker.create_topic("payment-update", partitions=2)
        auditing = publisher_class(_RefusesOne(BrokerPublisher(broker, "audited"), updates[1]))
        for update in updates:
            try:
                await auditing.publish("payment-update", update)
                outcomes.append("returned")
            except BrokerUnavailable:
                outcomes.append("raised")
            except Exception as error:
                return crashed(error, "only the inner publisher's BrokerUnavailable comes here")
    if outcomes[1] != "raised":
        return fail(
            "the inner publisher refused the second update, but your publish returned as if it "
            "went through",
            "let the inner publisher's error reach the caller: do not catch it",
        )
    if list(getattr(auditing, "published", [])) != [updates[0].id, updates[2].id]:
        return fail(
            "published holds the id of the update the inner publisher refused",
            "append event.id after `await self.inner.publish(...)` returned, not before",
        )
    return Check(
        True,
        "every update passed on, its report returned, its id kept; a refused one was not kept, "
        "and its error reached the caller",
    )
