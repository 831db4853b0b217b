"""The picture of lesson 16's paused leader: over the seconds of the run, which node led the
partition and in which leader epoch, which nodes were in its ISR, and how many payments the
acks=all producer had been told were stored; the pause is shaded, each event marked, and the
moment the acks=1 payment was acknowledged pointed at."""

from __future__ import annotations

from matplotlib.figure import Figure

from eda_lib.labs.paused import PausedLeader

_PAUSED, _LEADER, _IN_SYNC, _ACKED = "#b0b0b0", "#2d6a4f", "#55a868", "#4c72b0"
_EVENT = "#c44e52"


def plot_pause(run: PausedLeader, nodes: tuple[int, ...] = (1, 2, 3)) -> Figure:
    """Three rows on one time axis: the partition's leader (labelled with its epoch), its ISR
    node by node, and the producer's acknowledged payments."""
    figure = Figure(figsize=(9, 6.6))
    lead, isr, acked = figure.subplots(3, 1, sharex=True, height_ratios=(1.5, 1, 1.1))
    times = [s.at for s in run.samples]
    end = max([*times, run.rejoined_at]) + 0.3
    events = (
        (run.paused_at, f"SIGSTOP node {run.node}"),
        (run.elected_at, f"node {run.node} fenced: node {run.elected.leader} leads"),
        (run.resumed_at, f"SIGCONT node {run.node}"),
        (run.rejoined_at, f"node {run.node} in sync again"),
    )
    for ax in (lead, isr, acked):
        ax.axvspan(run.paused_at, run.resumed_at, color=_PAUSED, alpha=0.25, lw=0)
        for at, _ in events:
            ax.axvline(at, color=_EVENT, lw=0.9, ls="--")
        ax.set_xlim(0, end)

    leaders = [s.leader if s.leader is not None else 0 for s in run.samples]
    lead.step(times, leaders, where="post", color=_LEADER, lw=2)
    shown_epochs: set[int] = set()
    for s in run.samples:
        if s.epoch not in shown_epochs and s.leader is not None:
            shown_epochs.add(s.epoch)
            lead.annotate(
                f"leader epoch {s.epoch}",
                (s.at, s.leader),
                xytext=(4, 6),
                textcoords="offset points",
                fontsize=9,
                color=_LEADER,
            )
    lead.set_yticks(list(nodes), [f"node {n}" for n in nodes], fontsize=9)
    lead.set_ylim(min(nodes) - 0.5, max(nodes) + 2.2)
    lead.set_ylabel("leader", fontsize=9)
    for level, (at, text) in enumerate(events):  # one line each, so that none overlaps
        lead.annotate(
            text,
            (at, max(nodes) + 2.0 - 0.42 * level),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8.5,
            va="center",
            color=_EVENT,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
        )

    for n in nodes:
        spans = [
            (s.at, nxt.at - s.at)
            for s, nxt in zip(run.samples, run.samples[1:], strict=False)
            if n in s.isr
        ]
        isr.broken_barh(spans, (n - 0.3, 0.6), color=_IN_SYNC)
    isr.set_yticks(list(nodes), [f"node {n}" for n in nodes], fontsize=9)
    isr.set_ylim(min(nodes) - 0.6, max(nodes) + 0.6)
    isr.set_ylabel("in the ISR", fontsize=9)

    acked.step(times, [s.acknowledged for s in run.samples], where="post", color=_ACKED, lw=2)
    if run.stale.told_at is not None:
        fate = "then truncated" if run.stale.lost else "and kept"
        acked.annotate(
            f"acks=1 payment: told stored at offset {run.stale.offset}, {fate}",
            (run.stale.told_at, 0),
            xytext=(-6, 14),
            textcoords="offset points",
            ha="right",
            fontsize=8.5,
            color=_EVENT,
            arrowprops={"arrowstyle": "->", "color": _EVENT},
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
        )
    acked.set_ylabel("payments\nacknowledged", fontsize=9)
    acked.set_xlabel(f"seconds into the run (node {run.node} paused in the shaded part)")
    acked.tick_params(labelsize=9)
    lead.set_title(
        f"partition {run.partition}'s leader, node {run.node}, paused: fenced, node "
        f"{run.elected.leader} leads in epoch {run.elected.epoch}, "
        f"node {run.node} back as follower",
        fontsize=10,
    )
    figure.tight_layout()
    return figure
