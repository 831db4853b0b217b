"""Seeing the flow: graphs of live broker state, trace timelines, and the lesson widgets."""

from eda_lib.viz.graphs import assignment_table, draw_timeline, draw_topology, topology
from eda_lib.viz.widgets import BacklogLabWidget, FailureLabWidget, TopicExplorerWidget

__all__ = [
    "BacklogLabWidget",
    "FailureLabWidget",
    "TopicExplorerWidget",
    "assignment_table",
    "draw_timeline",
    "draw_topology",
    "topology",
]
