"""At least 200 random fault plans per run (hypothesis): whatever the broker and the consumers
do wrong, every event ends handled, dead-lettered or (only when committing before handling)
lost by design. Judged from the topics themselves and the test's own records of effects and
crashes, never from the trace. With commits after handling plus an idempotent consumer, no
event is lost and every effect happens exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import event, given, settings
from hypothesis import strategies as st

from eda_lib import (
    Consumer,
    ConsumerCrash,
    Event,
    InMemoryBroker,
    PaymentSuccessful,
    Producer,
    deserialize,
)
from eda_lib.faults import BrokerFaults, ConsumerFaults
from eda_lib.resilience import InMemoryProcessedEvents, RetryPolicy
from tests.contract.broker import payment


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


@dataclass
class Dies:
    """A consumer dies at the payments numbered `numbers`, once each (it restarts after); the
    test's own record of where it did, so losses are judged without the consumer's trace."""

    numbers: frozenset[int]
    fired: list[str] = field(default_factory=list)

    def __call__(self, event: Event) -> bool:
        assert isinstance(event, PaymentSuccessful)
        pay = event.payment_id
        if int(pay[4:]) not in self.numbers or pay in self.fired:
            return False
        self.fired.append(pay)
        return True


@dataclass
class Run:
    broker: InMemoryBroker
    sent: dict[str, tuple[int, int]]  # payment id -> (partition, offset), from its delivery report
    effects: list[str]  # payment ids, as the handler applied them
    mid_handler: Dies
    before_commit: Dies
    after_commit: Dies

    @property
    def crashes(self) -> list[str]:
        return self.mid_handler.fired + self.before_commit.fired + self.after_commit.fired


async def _run(plan: Plan, semantics: str) -> Run:
    broker = InMemoryBroker(seed=plan.seed)
    await broker.create_topic("payments", partitions=plan.partitions)
    producer = Producer(broker)
    sent: dict[str, tuple[int, int]] = {}
    for n in range(plan.events):
        report = await producer.send("payments", payment(n, order=f"order-{n % 4}"))
        sent[f"pay-{n}"] = (report.partition, report.offset)
    broker.faults = BrokerFaults(
        drop=plan.drop, duplicate=plan.duplicate, reorder=plan.reorder, seed=plan.seed
    )
    effects: list[str] = []
    dies_mid_handler = Dies(plan.crash_mid_handler)

    def handle(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        if int(event.payment_id[4:]) in plan.poison:
            raise ValueError("poison: this payment always fails")
        if dies_mid_handler(event):
            raise ConsumerCrash("died in the middle of handling")
        effects.append(event.payment_id)

    dies_before_commit, dies_after_commit = (
        Dies(plan.crash_before_commit),
        Dies(plan.crash_after_commit),
    )
    faults = ConsumerFaults(
        crash_before_commit=dies_before_commit, crash_after_commit=dies_after_commit
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
            start="earliest",
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
    return Run(broker, sent, effects, dies_mid_handler, dies_before_commit, dies_after_commit)


def _payment_id(value: bytes) -> str:
    event = deserialize(value)
    assert isinstance(event, PaymentSuccessful)
    return event.payment_id


async def _accounted(run: Run, plan: Plan) -> tuple[Counter[str], set[str]]:
    """How each event ended: 'handled', 'dead-lettered' or 'lost'; fails if any is neither.
    Judged from the topics themselves and the test's own records, not the trace. Also returns
    the payment ids found in the dead-letter topic."""
    stored: dict[str, tuple[int, int]] = {}
    records = 0
    for partition in range(plan.partitions):
        for record in await run.broker.read("payments", partition, limit=10_000):
            stored[_payment_id(record.value)] = (partition, record.offset)
            records += 1
    # Each send stored once, where its delivery report said; nothing else.
    assert stored == run.sent and records == plan.events
    dead: set[str] = set()
    for record in await run.broker.read("payments.dead-letter", 0, limit=10_000):
        pay = _payment_id(record.value)
        partition, offset = run.sent[pay]
        assert record.header("dlt-group") == b"g"
        assert record.header("dlt-source") == f"payments[{partition}]@{offset}".encode()
        dead.add(pay)
    outcome: Counter[str] = Counter()
    for n in range(plan.events):
        name = f"pay-{n}"
        if name in run.effects:
            outcome["handled"] += 1
        elif name in dead:
            outcome["dead-lettered"] += 1
        else:
            # Lost by design only where the consumer died in the handler (after its commit).
            assert name in run.mid_handler.fired, f"{name} is unaccounted for"
            outcome["lost"] += 1
    return outcome, dead


async def _scenario(plan: Plan, semantics: str) -> tuple[Run, Counter[str], set[str]]:
    run = await _run(plan, semantics)
    outcome, dead = await _accounted(run, plan)
    event("crashes happened" if run.crashes else "no crash happened")
    return run, outcome, dead


@settings(max_examples=200, deadline=None)
@given(plans)
def test_commit_after_handling_plus_idempotency_applies_every_effect_once(plan: Plan) -> None:
    run, outcome, dead = asyncio.run(_scenario(plan, "effect once"))
    counts = Counter(run.effects)
    for n in range(plan.events):
        expected = 0 if n in plan.poison else 1
        assert counts[f"pay-{n}"] == expected, f"pay-{n} applied {counts[f'pay-{n}']} times"
    assert outcome["lost"] == 0
    faulty = plan.drop or plan.duplicate or plan.crash_before_commit or plan.crash_mid_handler
    event("faults injected" if faulty else "no faults")
    poison = {f"pay-{n}" for n in plan.poison if n < plan.events}
    assert dead == poison and outcome["dead-lettered"] == len(poison)


@settings(max_examples=200, deadline=None)
@given(plans)
def test_commit_before_handling_may_lose_but_never_repeats_and_accounts_for_all(
    plan: Plan,
) -> None:
    run, outcome, dead = asyncio.run(_scenario(plan, "at most once"))
    assert max(Counter(run.effects).values(), default=0) <= 1  # never twice
    assert outcome["lost"] <= len(run.crashes)  # each loss is at a recorded crash
    # Committed before handling, a death mid-handler always costs exactly that event.
    assert outcome["lost"] == len(run.mid_handler.fired)
    assert dead == {f"pay-{n}" for n in plan.poison if n < plan.events}
    event("at most once: some lost" if outcome["lost"] else "at most once: none lost")
