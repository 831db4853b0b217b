"""Lesson 04, EDA vs REST: one checkout built twice, in a seeded simulation on virtual time.

REST: the checkout calls payment, shipping, email and analytics one after another and answers
when the last call returns. The first call that fails (an error, a client timeout, a refused
connection) ends the chain and fails the checkout. To keep it simple no call is retried.

Events: the checkout calls payment, a command (a declined card must be refused while the
customer waits: there request/response stays the right tool), publishes PaymentSuccessful and
answers. Shipping, email and analytics each read their own queue (their own consumer group),
one event at a time; when their service fails they keep the event and retry it after a backoff,
so nothing is lost and no downstream failure fails the checkout. The price is eventual
consistency: the receipt goes out when email gets to it.

Left out: networks, thread and connection pools (a service serves any number of REST calls at
once; only the consumers queue), the broker's failures (publishing always works), duplicates,
reordering, and compensation (a REST checkout failing after payment leaves the card charged).
Times are milliseconds of virtual time: nothing sleeps, and a seed always gives the same run."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

SERVICES = ("payment", "shipping", "email", "analytics")
DOWNSTREAM = SERVICES[1:]
_NAMES = ", ".join(SERVICES)
Window = tuple[float, float]
Call = tuple[float, bool]  # how long a call took, and whether it succeeded
Draws = dict[str, list[tuple[float, float]]]  # per service, per checkout: (normal, uniform)
EMAIL_OUTAGE: Window = (60_000.0, 120_000.0)
"""The lesson's outage: email down for a minute in the middle of the default run (200 s)."""


class SimulationError(ValueError):
    """A scenario that cannot be simulated; the message says what to change."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise SimulationError(message)


@dataclass(frozen=True)
class ServiceSpec:
    """A service. A call takes a lognormal time (median `latency_ms`, log-spread `sigma`: 0.6
    puts the p99 at 4x the median), then fails with probability `failure_rate` (for payment, a
    failure is a declined card). A call that starts inside a `down` window (start_ms, end_ms)
    is refused after `refused_ms`, as a connection to a stopped service is."""

    name: str
    latency_ms: float
    sigma: float = 0.6
    failure_rate: float = 0.01
    down: tuple[Window, ...] = ()
    refused_ms: float = 3.0

    def __post_init__(self) -> None:
        who = self.name
        _check(who in SERVICES, f"unknown service {who!r}: use one of {_NAMES}")
        for what in ("latency_ms", "sigma", "refused_ms"):
            value = getattr(self, what)
            _check(value >= 0, f"{who}: {what} is {value}; give 0 or more")  # refuses NaN too
        rate = self.failure_rate
        _check(0 <= rate <= 1, f"{who}: failure_rate is {rate}; give a probability, 0 to 1")
        for w in self.down:
            ok = isinstance(w, tuple | list) and len(w) == 2 and 0 <= w[0] <= w[1]
            _check(ok, f"{who}: down window {w!r} is not (start_ms, end_ms), 0 <= start <= end")
        # Lists (from a widget, say) become tuples: the spec stays hashable and comparable.
        object.__setattr__(self, "down", tuple((float(s), float(e)) for s, e in self.down))

    def is_down(self, at_ms: float) -> bool:
        return any(start <= at_ms < end for start, end in self.down)

    def call(self, at_ms: float, z: float, u: float, timeout_ms: float = math.inf) -> Call:
        """How long a call started at `at_ms` takes, and whether it succeeds, given its two
        random draws: `z` standard normal (the time), `u` uniform in [0, 1) (the failure)."""
        if self.is_down(at_ms):
            return self.refused_ms, False
        took = self.latency_ms * math.exp(self.sigma * z)
        if took > timeout_ms:
            return timeout_ms, False
        return took, u >= self.failure_rate


@dataclass(frozen=True)
class Scenario:
    """The four services, `checkouts` Poisson arrivals one every `mean_gap_ms` on average (10
    a second by default), the REST client's timeout per call, the broker's publish time, the
    consumers' retry backoff, and a horizon after which nothing more is processed (an hour:
    a service down for ever cannot make the run endless)."""

    payment: ServiceSpec = ServiceSpec("payment", 120.0, failure_rate=0.02)
    shipping: ServiceSpec = ServiceSpec("shipping", 50.0)
    email: ServiceSpec = ServiceSpec("email", 40.0)
    analytics: ServiceSpec = ServiceSpec("analytics", 30.0)
    checkouts: int = 2_000
    mean_gap_ms: float = 100.0
    seed: int = 4
    timeout_ms: float = 1_000.0
    publish_ms: float = 2.0
    backoff_ms: float = 500.0
    horizon_ms: float = 3_600_000.0

    def __post_init__(self) -> None:
        for name in SERVICES:
            spec = getattr(self, name)
            right = isinstance(spec, ServiceSpec) and spec.name == name
            _check(right, f"the {name} field holds {spec!r}; use with_service({name!r}, ...)")
        n = self.checkouts
        _check(isinstance(n, int) and n >= 1, f"checkouts is {n!r}; give a whole number, 1 or more")
        for what in ("mean_gap_ms", "timeout_ms", "backoff_ms", "horizon_ms"):
            _check(getattr(self, what) > 0, f"{what} is {getattr(self, what)}; give more than 0")
        _check(self.publish_ms >= 0, f"publish_ms is {self.publish_ms}; give 0 or more")

    def service(self, name: str) -> ServiceSpec:
        _check(name in SERVICES, f"unknown service {name!r}: use one of {_NAMES}")
        spec: ServiceSpec = getattr(self, name)
        return spec

    def with_service(
        self,
        name: str,
        *,
        latency_ms: float | None = None,
        sigma: float | None = None,
        failure_rate: float | None = None,
        down: Sequence[Window] | None = None,
    ) -> Scenario:
        """This scenario with one service changed; what is not given stays. `down=()` brings
        the service back for the whole run."""
        given = dict(latency_ms=latency_ms, sigma=sigma, failure_rate=failure_rate, down=down)
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        changes = {name: replace(self.service(name), **changes)}  # checks `name` and values
        return replace(self, **changes)


@dataclass(frozen=True)
class CheckoutRecord:
    """One checkout in one design. Times are absolute virtual ms; a reaction is None when it
    did not happen (a failed checkout, or one still pending when the run ended). A REST
    checkout that failed late keeps the reactions of the calls that went through before."""

    index: int
    placed_at: float
    ok: bool
    response_ms: float
    """How long the customer waited for the answer, success or failure."""
    failed_call: str | None
    shipped_at: float | None
    receipt_sent_at: float | None
    analysed_at: float | None

    @property
    def time_to_receipt_ms(self) -> float | None:
        return None if self.receipt_sent_at is None else self.receipt_sent_at - self.placed_at


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99, interpolating linearly between the two nearest ranks (numpy's default,
    and `statistics.quantiles(method="inclusive")`); NaN when there are no values."""
    ordered = sorted(values)

    def at(q: int) -> float:
        rank = (len(ordered) - 1) * q / 100
        low, high = math.floor(rank), math.ceil(rank)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low) if ordered else math.nan

    return {f"p{q}": at(q) for q in (50, 95, 99)}


@dataclass(frozen=True)
class DesignResult:
    """One design's checkouts ("rest" or "events"), and for events, per consumer queue, the
    most events it held at once (waiting or in progress)."""

    design: str
    records: tuple[CheckoutRecord, ...]
    max_backlog: dict[str, int]

    @property
    def success_rate(self) -> float:
        return sum(r.ok for r in self.records) / len(self.records)

    def latency_percentiles(self) -> dict[str, float]:
        """p50/p95/p99 of the response time of every checkout, failed ones included: what the
        customers waited for an answer (a refused call answers fast, a timeout slowly)."""
        return percentiles([r.response_ms for r in self.records])

    def receipt_percentiles(self) -> dict[str, float]:
        """p50/p95/p99 of the time from placing a checkout to its receipt being sent, over the
        successful checkouts whose receipt was sent."""
        waits = (r.time_to_receipt_ms for r in self.records if r.ok)
        return percentiles([wait for wait in waits if wait is not None])

    @property
    def pending_receipts(self) -> int:
        """Successful checkouts whose receipt was still not sent when the run ended."""
        return sum(r.ok and r.receipt_sent_at is None for r in self.records)

    def summary(self) -> dict[str, float]:
        """The headline numbers, rounded for printing."""
        latency, receipt = self.latency_percentiles(), self.receipt_percentiles()
        numbers: dict[str, float] = {"success %": round(100 * self.success_rate, 1)}
        numbers.update({f"{p} ms": round(value) for p, value in latency.items()})
        numbers.update({f"receipt {p} s": round(receipt[p] / 1000, 2) for p in ("p50", "p99")})
        numbers["receipts pending"] = self.pending_receipts
        numbers.update({f"max backlog {q}": n for q, n in self.max_backlog.items()})
        return numbers


@dataclass(frozen=True)
class Comparison:
    scenario: Scenario
    rest: DesignResult
    events: DesignResult

    def summary(self) -> dict[str, dict[str, float]]:
        return {"rest": self.rest.summary(), "events": self.events.summary()}


def simulate(scenario: Scenario | None = None) -> Comparison:
    """Both designs on the same arrivals and the same draws per checkout and service, so
    payment answers the same in both and only the design differs."""
    scenario = scenario or Scenario()
    rng = random.Random(scenario.seed)
    placed: list[float] = []
    draws: Draws = {name: [] for name in SERVICES}
    now = 0.0
    for _ in range(scenario.checkouts):
        now += rng.expovariate(1 / scenario.mean_gap_ms)
        placed.append(now)
        for name in SERVICES:  # always all four: changing one service moves no other's draws
            draws[name].append((rng.gauss(0.0, 1.0), rng.random()))
    return Comparison(scenario, _rest(scenario, placed, draws), _events(scenario, placed, draws))


def _rest(scenario: Scenario, placed: list[float], draws: Draws) -> DesignResult:
    records, timeout = [], scenario.timeout_ms
    for i, at in enumerate(placed):
        spent, failed, done = 0.0, None, dict[str, float]()
        for name in SERVICES:
            took, ok = scenario.service(name).call(at + spent, *draws[name][i], timeout)
            spent += took
            if not ok:
                failed = name
                break
            done[name] = at + spent
        reactions = (done.get(name) for name in DOWNSTREAM)
        records.append(CheckoutRecord(i, at, failed is None, spent, failed, *reactions))
    return DesignResult("rest", tuple(records), {})


def _events(scenario: Scenario, placed: list[float], draws: Draws) -> DesignResult:
    pay, timeout, publish = scenario.payment, scenario.timeout_ms, scenario.publish_ms
    answers = [pay.call(at, *draws["payment"][i], timeout) for i, at in enumerate(placed)]
    answers = [(took + publish, ok) if ok else (took, ok) for took, ok in answers]
    pairs = list(enumerate(zip(placed, answers, strict=True)))
    # In publish order: a slow payment publishes after a later, faster one.
    published = sorted((at + took, i) for i, (at, (took, ok)) in pairs if ok)
    runs = {n: _consume(scenario, scenario.service(n), published, draws) for n in DOWNSTREAM}
    records = []
    for i, (at, (took, ok)) in pairs:
        reactions = (runs[n][0].get(i) for n in DOWNSTREAM)
        records.append(CheckoutRecord(i, at, ok, took, None if ok else "payment", *reactions))
    return DesignResult("events", tuple(records), {n: most for n, (_, most) in runs.items()})


def _consume(
    scenario: Scenario, spec: ServiceSpec, published: list[tuple[float, int]], draws: Draws
) -> tuple[dict[int, float], int]:
    """One consumer taking its queue in publish order, one event at a time: when it was done
    with each event (absent if the horizon came first), and its largest backlog. Retries happen
    only in this design, so they draw from their own stream, not from the draws shared."""
    retries = random.Random(f"{scenario.seed}/{spec.name}/retries")
    done: dict[int, float] = {}
    free = 0.0
    for at, i in published:
        now, (z, u) = max(free, at), draws[spec.name][i]
        while now <= scenario.horizon_ms:  # bounded: each failure moves on by backoff_ms > 0
            took, ok = spec.call(now, z, u)  # no client timeout: the consumer waits its turn
            now += took
            if ok:
                done[i] = now
                break
            now += scenario.backoff_ms
            z, u = retries.gauss(0.0, 1.0), retries.random()
        free = now
    changes = sorted([(at, 1) for at, _ in published] + [(t, -1) for t in done.values()])
    held = most = 0
    for _, change in changes:  # at equal times a finish (-1) sorts before an arrival
        held += change
        most = max(most, held)
    return done, most
