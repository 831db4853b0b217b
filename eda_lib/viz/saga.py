"""Choreography beside orchestration (lesson 15): the two shapes of the shop's saga, and one
order's saga as a sequence in time, one lane per service, each event drawn after its cause."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.events import Event

_SERVICE = "#4c72b0"
_HUB = "#8172b2"
_COMMAND = "#dd8452"
_FAILED = "#c44e52"
_FAILURES = ("PaymentFailed", "ShipmentFailed", "RefundDeclined", "SagaParked")

# The choreographed saga: who reacts to whose event (lesson 15's `Shop`), with the bend of
# each arrow and where its label goes.
_CHAIN = (
    ("orders", "payments", "OrderCreated", 0.25, (0.3, 0.3), "center"),
    (
        "payments",
        "orders",
        "PaymentSuccessful,\nPaymentFailed,\nPaymentRefunded",
        0.25,
        (0.66, 0.7),
        "left",
    ),
    ("payments", "shipping", "PaymentSuccessful", 0.25, (0.3, -0.3), "center"),
    ("shipping", "payments", "ShipmentFailed", 0.25, (0.7, -0.7), "left"),
    ("orders", "notifications", "OrderCancelled", 0.25, (-0.7, 0.7), "right"),
    ("shipping", "notifications", "OrderShipped", -0.25, (-0.7, -0.7), "right"),
)
_AROUND = {
    "orders": (0.0, 1.0),
    "payments": (1.15, 0.0),
    "shipping": (0.0, -1.0),
    "notifications": (-1.15, 0.0),
}
# The orchestrated saga: the commands each participant takes, what it answers, where it is said.
_HUB_SPOKES = {
    "orders": ("approve, cancel", "OrderCreated,\nOrderApproved, OrderCancelled", (0.32, 1.0)),
    "payments": (
        "charge, refund",
        "PaymentSuccessful, PaymentFailed,\nPaymentRefunded, RefundDeclined",
        (1.15, -0.3),
    ),
    "shipping": ("ship", "OrderShipped,\nShipmentFailed", (0.32, -1.0)),
    "notifications": ("email", "CustomerEmailed", (-1.15, -0.3)),
}


def _node(ax: Axes, xy: tuple[float, float], name: str, colour: str) -> None:
    ax.text(
        *xy,
        name,
        ha="center",
        va="center",
        fontsize=9,
        color="white",
        bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "none"},
        zorder=3,
    )


def _arrow(
    ax: Axes, a: tuple[float, float], b: tuple[float, float], colour: str, bend: float
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=12,
            color=colour,
            shrinkA=22,
            shrinkB=22,
            connectionstyle=f"arc3,rad={bend}",
            linewidth=1.3,
            zorder=2,
        )
    )


def draw_saga_shapes(*, title: str = "") -> Figure:
    """Left, the choreographed saga: each service reacts to another's event, so the flow is a
    chain no one service holds. Right, the orchestrated one: commands go out from one hub
    (orange), and every participant's answer comes back to it (blue)."""
    figure = Figure(figsize=(10, 4.8), dpi=100)
    left, right = figure.subplots(1, 2)
    for ax in (left, right):
        ax.set_xlim(-1.75, 1.75)
        ax.set_ylim(-1.35, 1.3)
        ax.axis("off")
    for source, target, label, bend, (x, y), ha in _CHAIN:
        _arrow(left, _AROUND[source], _AROUND[target], _SERVICE, bend)
        left.text(x, y, label, fontsize=8, ha=ha, va="center", color="#333333")
    for name, xy in _AROUND.items():
        _node(left, xy, name, _SERVICE)
    left.set_title("choreography: each service reacts to another's event", fontsize=10)
    _node(right, (0.0, 0.0), "orchestrator", _HUB)
    for name, (commands, answers, (x, y)) in _HUB_SPOKES.items():
        _arrow(right, (0.0, 0.0), _AROUND[name], _COMMAND, 0.2)
        _arrow(right, _AROUND[name], (0.0, 0.0), _SERVICE, 0.2)
        _node(right, _AROUND[name], name, _SERVICE)
        ha = "left" if x > 0 and y != -0.3 else "center"
        right.text(x, y, commands, fontsize=8, ha=ha, va="top", color=_COMMAND)
        right.text(x, y - 0.1, answers, fontsize=8, ha=ha, va="top", color=_SERVICE)
    right.set_title("orchestration: commands out (orange), answers in (blue)", fontsize=10)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


_LANES = {
    "/saga-orchestrator": "orchestrator",
    "/order-service": "orders",
    "/payment-service": "payments",
    "/shipping-service": "shipping",
    "/notification-service": "notifications",
}
_SHOWN = {"pending": "#bbbbbb", "approved": "#55a868", "cancelled": _FAILED}


def _label(event: Event) -> str:
    step = getattr(event, "step", None)
    if step is not None and event.event_type == "SagaCommand":
        attempt = getattr(event, "attempt", 1)
        return f"{step}" if attempt == 1 else f"{step} #{attempt}"
    return event.event_type


def shown_to_readers(chain: Sequence[Event]) -> list[str]:
    """What a reader of the order's own events shows after each event of `chain`: 'pending'
    once it is created, 'approved', 'cancelled' ('' before it exists)."""
    shown, now = [], ""
    for event in chain:
        if isinstance(event, OrderCreated):
            now = "pending"
        elif isinstance(event, OrderApproved):
            now = "approved"
        elif isinstance(event, OrderCancelled):
            now = "cancelled"
        shown.append(now)
    return shown


def draw_sagas(panels: Mapping[str, Sequence[Event]], *, title: str = "") -> Figure:
    """One panel per saga (an order's events, each after its cause): a lane per service, a dot
    per event in the lane of the service that published it, an arrow from its cause. Commands
    are orange, failures red. The strip below says how a reader of the order shows it."""
    lanes = [lane for lane in _LANES.values() if lane != "orchestrator" or _has_hub(panels)]
    widest = max(len(chain) for chain in panels.values())
    figure = Figure(figsize=(10, 1.0 + 2.9 * len(panels)), dpi=100)
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (name, chain) in zip(axes, panels.items(), strict=True):
        where: dict[object, tuple[float, float]] = {}
        for x, event in enumerate(chain):
            y = float(len(lanes) - 1 - lanes.index(_LANES.get(event.source, "orders")))
            where[event.id] = (float(x), y)
            cause = where.get(event.causation_id)
            if cause is not None:
                ax.annotate(
                    "",
                    (x, y),
                    cause,
                    arrowprops={"arrowstyle": "-|>", "color": "#999999", "linewidth": 0.9},
                )
            colour = _SERVICE
            if event.event_type == "SagaCommand":
                colour = _COMMAND
            elif event.event_type in _FAILURES:
                colour = _FAILED
            ax.scatter([x], [y], s=45, color=colour, zorder=3)
            label = _label(event)
            if cause is not None and chain[int(cause[0])].event_type == "SagaParked":
                label += " (resumed)"
            ax.annotate(
                label,
                (x, y),
                xytext=(2, 6),
                textcoords="offset points",
                fontsize=7.5,
                rotation=55,
            )
        for state, first, last in _runs(shown_to_readers(chain)):
            if state:
                ax.barh(-1.1, last - first + 1, left=first - 0.5, height=0.5, color=_SHOWN[state])
                middle = (first + last) / 2
                ax.text(middle, -1.1, state, ha="center", va="center", fontsize=8, color="white")
        ax.set_yticks([-1.1, *range(len(lanes))], ["a reader sees", *reversed(lanes)], fontsize=8.5)
        ax.set_ylim(-1.5, len(lanes) + 1.0)
        ax.set_xlim(-0.6, widest + 0.6)
        ax.set_xticks([])
        ax.set_title(name, fontsize=10, loc="left")
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


def _has_hub(panels: Mapping[str, Sequence[Event]]) -> bool:
    return any(e.source == "/saga-orchestrator" for chain in panels.values() for e in chain)


def _runs(states: Sequence[str]) -> list[tuple[str, int, int]]:
    """Runs of one state: (state, first index, last index)."""
    runs: list[tuple[str, int, int]] = []
    for index, state in enumerate(states):
        if runs and runs[-1][0] == state:
            runs[-1] = (state, runs[-1][1], index)
        else:
            runs.append((state, index, index))
    return runs
