"""Traces as a waterfall (lessons 06 and 15): one row per span, in tree order, each trace under
a header line with its trace id. A bar runs from the span's start to its end on the clock's time
axis; a send, which takes no time on a virtual clock, is a diamond. Colour is the service (the
span's `service.name`); an elbow joins each parent to its child: down from the parent (where
the child starts, if that is inside the parent, else at the parent's end), then across to the
child's start. A span that failed has a red edge and says so. The spans of records a consumer
ignored (it has no handler for their type) are left out unless asked for: nothing happened in
them. Each note has a white ground, so a connector that passes behind it does not cross it."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from eda_lib.tracing import tree_order

COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
FAILED = "#c44e52"


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name", "?"))


def _label(span: ReadableSpan) -> str:
    kind = {SpanKind.PRODUCER: "send", SpanKind.CONSUMER: "process"}.get(span.kind, "")
    topic = (span.attributes or {}).get("messaging.destination.name", span.name)
    return f"{_service(span)}: {kind} {topic}".strip() if kind else span.name


def _ignored(span: ReadableSpan) -> bool:
    return (span.attributes or {}).get("eda.outcome") == "skipped" and span.status.is_ok


def _connect(
    ax: Axes, parent: ReadableSpan, child: ReadableSpan, first: int, y_of: dict[int, int]
) -> None:
    """An elbow from `parent` to `child`: down from the parent's row, then across to where the
    child starts. The drop is at the child's start when that lies within the parent (a send
    from inside a handler), else at the parent's end (a send, a diamond, read later), so it
    runs beside the rows between them, not through their labels."""
    start = ((child.start_time or 0) - first) / 1e6
    begins = ((parent.start_time or 0) - first) / 1e6
    ends = ((parent.end_time or 0) - first) / 1e6
    drop = min(max(start, begins), ends)
    top = y_of[parent.get_span_context().span_id] - 0.3  # type: ignore[union-attr]
    row = y_of[child.get_span_context().span_id]  # type: ignore[union-attr]
    arrow = {"arrowstyle": "->", "color": "#555555", "lw": 1, "shrinkA": 0, "shrinkB": 5}
    if drop == start:  # straight down onto the child
        ax.annotate("", (start, row + 0.3), (drop, top), arrowprops=arrow, zorder=1)
        return
    ax.plot([drop, drop], [top, row], color="#555555", lw=1, zorder=1)
    ax.annotate("", (start, row), (drop, row), arrowprops=arrow, zorder=1)


def draw_spans(
    traces: Sequence[Sequence[ReadableSpan]], *, title: str = "", show_ignored: bool = False
) -> Figure:
    """`traces`: each trace's spans (e.g. `telemetry.traces().values()`), in any order."""
    traces = [[s for s in t if show_ignored or not _ignored(s)] for t in traces]
    traces = [t for t in traces if t]
    if not traces:
        raise ValueError("no spans to draw. Fix: watch the producers and consumers first")
    first = min(s.start_time or 0 for t in traces for s in t)
    ms = [(s.end_time or 0) - first for t in traces for s in t]
    end = max(max(ms) / 1e6, 1.0)
    services: dict[str, str] = {}
    rows: list[tuple[str, ReadableSpan | None, int]] = []  # (label, span, depth)
    for spans in traces:
        trace_id = spans[0].get_span_context().trace_id  # type: ignore[union-attr]
        rows.append((f"trace {trace_id:032x}"[:16] + "…", None, 0))
        rows.extend((_label(s), s, d) for s, d in tree_order(spans))
    figure = Figure(figsize=(9.8, 1.3 + 0.36 * len(rows)), dpi=100)
    ax = figure.subplots()
    y_of: dict[int, int] = {}
    by_id = {s.get_span_context().span_id: s for t in traces for s in t}  # type: ignore[union-attr]
    for row, (_, span, _depth) in enumerate(rows):
        y = len(rows) - 1 - row
        if span is None:
            ax.axhline(y - 0.5, color="#bbbbbb", linewidth=0.8)
            continue
        y_of[span.get_span_context().span_id] = y  # type: ignore[union-attr]
        colour = services.setdefault(_service(span), COLOURS[len(services) % len(COLOURS)])
        start = ((span.start_time or 0) - first) / 1e6
        stop = ((span.end_time or 0) - first) / 1e6
        failed = span.status.status_code is StatusCode.ERROR
        edge = FAILED if failed else colour
        if stop - start > 0:
            ax.barh(
                y,
                stop - start,
                left=start,
                height=0.55,
                color=colour,
                edgecolor=edge,
                linewidth=2.5 if failed else 0.5,
                zorder=2,
            )
        elif span.kind is SpanKind.PRODUCER:
            ax.scatter([start], [y], marker="D", s=60, color=colour, edgecolor=edge, zorder=3)
        else:  # a consumer span that took no time
            ax.scatter([start], [y], marker="|", s=160, linewidths=3, color=edge, zorder=3)
        event = str((span.attributes or {}).get("eda.event.type", ""))
        note = f"{event}  ({stop - start:g} ms)" if stop > start else event
        if failed:
            note += f"  FAILED: {span.status.description}"
        ax.annotate(
            note,
            (stop, y),
            xytext=(7, -3.5),
            textcoords="offset points",
            fontsize=8.5,
            color=FAILED if failed else "#333333",
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            zorder=4,  # over the connectors, which pass behind it
        )
    for spans in traces:
        for span in spans:
            if span.parent is not None and span.parent.span_id in y_of:
                _connect(ax, by_id[span.parent.span_id], span, first, y_of)
    labels = ["  " * depth + label for label, _, depth in rows]
    ax.set_yticks(range(len(rows)), list(reversed(labels)), fontsize=8.5, family="monospace")
    for tick, (_, span, _) in zip(ax.get_yticklabels(), reversed(rows), strict=True):
        tick.set_color("#333333" if span is None else services[_service(span)])
        tick.set_horizontalalignment("left")
    # Left-aligned, so the tree's indents show: pushed left by the longest label (a monospace
    # character is 0.6 em wide).
    ax.tick_params(axis="y", pad=max(len(label) for label in labels) * 8.5 * 0.6 + 4, length=0)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(-end * 0.04, end * 1.6)
    ax.set_xlabel("virtual time since the first span (ms)", fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles: list[Patch | Line2D] = [Patch(color=c, label=s) for s, c in services.items()]
    handles.append(Line2D([], [], marker="D", linestyle="", color="#777777", label="send"))
    ax.legend(handles=handles, fontsize=8.5, loc="upper right", frameon=False)
    if title:  # over the whole figure: the labels take much of its width
        figure.suptitle(title, fontsize=11, x=0.01, ha="left")
    figure.tight_layout()
    return figure
