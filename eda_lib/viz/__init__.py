"""Seeing the flow: graphs of live broker state, trace timelines, the labs' pictures, and the
lesson widgets. Everything here reads state; nothing below `viz` imports it."""

from eda_lib.viz.alt_text import describe_figures
from eda_lib.viz.crashes import draw_crashes, draw_takeover
from eda_lib.viz.dashboard import DashboardWidget, draw_windows, plot_window_counts
from eda_lib.viz.events import draw_readings, draw_story
from eda_lib.viz.graphs import assignment_table, draw_topology, topology
from eda_lib.viz.history import (
    draw_cqrs_flow,
    draw_keying,
    draw_log,
    draw_moment,
    draw_steps,
    plot_lag,
    plot_replay_cost,
)
from eda_lib.viz.keys import draw_placements
from eda_lib.viz.lab import LabPicture, draw_lab, plot_backlog, plot_scaling, plot_semantics
from eda_lib.viz.offsets import PartitionLog, draw_offsets, partition_logs
from eda_lib.viz.queues import draw_workers
from eda_lib.viz.shop import draw_orders, draw_shop, plot_revenue, shop_graph
from eda_lib.viz.simulation import SimulationWidget, plot_comparison, plot_receipts
from eda_lib.viz.testing import draw_results, plot_shrinking
from eda_lib.viz.timeline import draw_timeline
from eda_lib.viz.usecases import plot_readings
from eda_lib.viz.widgets import (
    BacklogLabWidget,
    FailureLabWidget,
    TimeTravelWidget,
    TopicExplorerWidget,
)

# Every lesson imports this package in its first cell, after `%matplotlib inline`: from then on
# each picture it shows is saved with its title as alt text (see `alt_text`).
describe_figures()

__all__ = [
    "BacklogLabWidget",
    "DashboardWidget",
    "FailureLabWidget",
    "LabPicture",
    "PartitionLog",
    "SimulationWidget",
    "TimeTravelWidget",
    "TopicExplorerWidget",
    "assignment_table",
    "draw_cqrs_flow",
    "draw_crashes",
    "draw_keying",
    "draw_lab",
    "draw_log",
    "draw_moment",
    "draw_offsets",
    "draw_orders",
    "draw_placements",
    "draw_readings",
    "draw_results",
    "draw_shop",
    "draw_steps",
    "draw_story",
    "draw_takeover",
    "draw_timeline",
    "draw_topology",
    "draw_windows",
    "draw_workers",
    "partition_logs",
    "plot_backlog",
    "plot_comparison",
    "plot_lag",
    "plot_readings",
    "plot_receipts",
    "plot_replay_cost",
    "plot_revenue",
    "plot_scaling",
    "plot_semantics",
    "plot_shrinking",
    "plot_window_counts",
    "shop_graph",
    "topology",
]
