"""Seeing the flow: graphs of live broker state, trace timelines, the labs' pictures, and the
lesson widgets. Everything here reads state; nothing below `viz` imports it."""

from eda_lib.viz.graphs import assignment_table, draw_timeline, draw_topology, topology
from eda_lib.viz.lab import LabPicture, draw_lab, plot_backlog
from eda_lib.viz.widgets import BacklogLabWidget, FailureLabWidget, TopicExplorerWidget

__all__ = [
    "BacklogLabWidget",
    "FailureLabWidget",
    "LabPicture",
    "TopicExplorerWidget",
    "assignment_table",
    "draw_lab",
    "draw_timeline",
    "draw_topology",
    "plot_backlog",
    "topology",
]
