"""Stream processing (lesson 14): stateless steps (keep, transform, enrich), event-time windows
(tumbling and sliding) and a windowed count that runs between two topics on any broker."""

from eda_lib.processing.counting import ProcessorReport, WindowedCount
from eda_lib.processing.steps import Step, enrich, keep, transform
from eda_lib.processing.windows import Sliding, Tumbling, Window, WindowCounted

__all__ = [
    "ProcessorReport",
    "Sliding",
    "Step",
    "Tumbling",
    "Window",
    "WindowCounted",
    "WindowedCount",
    "enrich",
    "keep",
    "transform",
]
