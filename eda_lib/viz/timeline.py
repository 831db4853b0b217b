"""The trace as a timeline: every hop of every event in its lane, in order (every lesson)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from eda_lib.trace import Hop, Trace

_MARKERS = {
    "produced": ("o", "#4c72b0"),
    "stored": ("s", "#dd8452"),
    "delivered": ("v", "#8172b3"),
    "handled": ("^", "#55a868"),
    "ignored": ("x", "#937860"),
    "failed": ("X", "#c44e52"),
    "dead_lettered": ("D", "#c44e52"),
    "committed": ("|", "#333333"),
    "expired": ("*", "#999999"),
    "compacted": ("*", "#8c8c8c"),
    "retried": ("o", "#ccb974"),
    "dropped": ("x", "#999999"),
    "duplicated": ("+", "#8172b3"),
    "gap": ("<", "#dd8452"),
    "duplicate": ("1", "#64b5cd"),
    "crashed": ("X", "#000000"),
}


def _lanes(hops: Sequence[Hop], rebalances: Sequence[Hop] = ()) -> Callable[[Hop], str]:
    """Each hop's lane: its producer, its partition, or the group member that read it. Members
    of one group that never ran at the same time (a consumer restarted under a new name) share
    one lane, so a group that stopped and came back stays on one line. Members took turns only
    if the group rebalanced between one's last hop and the next one's first: two members that
    were in the group together keep a lane each, even when one happened to finish its
    partitions before the other began (as members do on a simulated clock)."""
    changes: dict[str, list[int]] = {}  # group -> the steps at which it rebalanced
    for change in rebalances:
        changes.setdefault(change.group, []).append(change.seq)
    spans: dict[str, dict[str, list[int]]] = {}
    for hop in hops:
        if hop.kind not in ("produced", "stored", "expired", "compacted") and hop.group:
            span = spans.setdefault(hop.group, {}).setdefault(hop.actor, [hop.seq, hop.seq])
            span[1] = hop.seq
    shared: dict[tuple[str, str], str] = {}
    for group, members in spans.items():
        ordered = sorted(members.items(), key=lambda item: item[1][0])
        in_turn = all(
            any(a[1][1] < seq < b[1][0] for seq in changes.get(group, ()))
            for a, b in itertools.pairwise(ordered)
        )
        if in_turn and len(ordered) > 1:
            names = [name for name, _ in ordered]
            label = ", ".join(names) if len(names) <= 2 else f"{len(names)} members in turn"
            shared.update(((group, name), f"{group}/{label}") for name in names)

    def lane(hop: Hop) -> str:
        if hop.kind == "produced":
            return f"producer {hop.actor}"
        if hop.kind in ("stored", "expired", "compacted"):
            return f"{hop.topic}[{hop.partition}]"
        return shared.get((hop.group, hop.actor), f"{hop.group}/{hop.actor}")

    return lane


_PATHS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#64b5cd")


def draw_timeline(
    trace: Trace, *, last: int | None = None, title: str = "", x: Literal["step", "time"] = "step"
) -> Figure:
    """Every hop as a mark in its lane (producer, partition or group member), in order.

    Lanes run in the order events flow: producers, then partitions, each in the order they
    first appear, then readers, by the middle of their hops (a group whose members ran one
    after another shares one lane). A coloured line follows each record from its partition to each
    group that reads it, one colour per record, so a redelivery shows up as a second visit to a
    member's lane. A dotted vertical line marks each rebalance (a member joined, left or was
    cancelled). With `x="time"` the hops are placed by when they happened (seconds since the
    first), which shows what ran at the same time; by default, one step per hop.
    """
    everything = trace.hops if last is None else trace.hops[-last:]
    t0 = everything[0].time if everything else None

    def at(hop: Hop) -> float:
        if x == "time" and t0 is not None:
            return (hop.time - t0).total_seconds()
        return float(hop.seq)

    hops = [h for h in everything if h.kind in _MARKERS]
    rebalances = [h for h in everything if h.kind == "rebalanced"]
    lane_of = _lanes(hops, rebalances)
    steps: dict[str, list[int]] = {}
    for hop in hops:
        steps.setdefault(lane_of(hop), []).append(hop.seq)

    def middle(lane: str) -> int:  # a reader's lane sits by when it did most: fewer crossings
        return steps[lane][len(steps[lane]) // 2] if "/" in lane else steps[lane][0]

    lanes = sorted(
        steps, key=lambda lane: (not lane.startswith("producer"), "/" in lane, middle(lane))
    )
    row = {lane: i for i, lane in enumerate(lanes)}
    # On a time axis a reader's delivered, handled and committed marks often share one moment:
    # they are nudged up and down within the lane, so each stays visible.
    nudge = {"delivered": -0.16, "committed": 0.16} if x == "time" else {}

    def height(hop: Hop) -> float:
        return row[lane_of(hop)] + nudge.get(hop.kind, 0.0)

    figure = Figure(figsize=(9.5, 1.4 + 0.45 * max(1, len(lanes))), dpi=100)
    ax: Axes = figure.add_subplot()
    stored: dict[tuple[str, int, int], tuple[float, float]] = {}
    paths: dict[tuple[str, int, int, str], list[tuple[float, float]]] = {}
    for hop in hops:
        y = height(hop)
        record = (hop.topic, hop.partition, hop.offset)
        if hop.kind == "stored":
            stored[record] = (at(hop), y)
        elif hop.offset >= 0 and hop.group and hop.kind != "committed":
            path = paths.setdefault(
                (*record, hop.group), [stored[record]] if record in stored else []
            )
            path.append((at(hop), y))
    colour_of: dict[tuple[str, int, int], str] = {}
    for (topic, partition, offset, _), points in paths.items():  # from its log to its handling
        record = (topic, partition, offset)
        colour = colour_of.setdefault(record, _PATHS[len(colour_of) % len(_PATHS)])
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        ax.plot(xs, ys, color=colour, lw=0.9, alpha=0.55, zorder=1)
    at_x: dict[float, list[str]] = {}  # rebalances at one moment share a line and a label
    for hop in rebalances:
        groups = at_x.setdefault(at(hop), [])
        if hop.group not in groups:
            groups.append(hop.group)
    for position, groups in at_x.items():  # labelled in a band under the last lane
        ax.axvline(position, color="#888888", lw=0.9, ls=":", zorder=0)
        ax.text(
            position,
            len(lanes) - 0.4,
            "\n".join(groups),
            rotation=90,
            fontsize=7.5,
            color="#666666",
            ha="center",
            va="top",
        )
    for kind, (marker, colour) in _MARKERS.items():
        chosen = [h for h in hops if h.kind == kind]
        ax.scatter(
            [at(h) for h in chosen],
            [height(h) for h in chosen],
            marker=marker,
            color=colour,
            s=36,
            zorder=2,
            label=kind,
        )
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax.set_ylim(len(lanes) - 0.5 + (1.4 if rebalances else 0.0), -0.5)  # lanes top down
    axis = "seconds since the first hop" if x == "time" else "step in the trace"
    ax.set_xlabel(axis + (" (dotted: a group rebalanced)" if rebalances else ""))
    ax.set_title(title or "The trace: every hop of every event", fontsize=11)
    present = [k for k in _MARKERS if any(h.kind == k for h in hops)]
    handles = [
        Line2D([], [], marker=_MARKERS[k][0], color=_MARKERS[k][1], ls="", label=k) for k in present
    ]
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.2)
    figure.tight_layout()
    return figure
