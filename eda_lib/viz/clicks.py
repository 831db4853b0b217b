"""What a widget's buttons start: a lab's coroutine, run on the kernel's event loop one at a time
and in the order of the clicks, then a redraw; an error is shown instead of lost in a task."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class Clicks:
    def __init__(self, redraw: Callable[[], None], show_error: Callable[[str], None]) -> None:
        self.redraw = redraw
        self.show_error = show_error
        self.pending: set[asyncio.Task[None]] = set()  # in flight; tests await these
        self._lock = asyncio.Lock()

    def run(self, action: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start `action(*args)` (widget callbacks are plain functions)."""
        task = asyncio.get_running_loop().create_task(self._then_redraw(action(*args)))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _then_redraw(self, step: Awaitable[Any]) -> None:
        async with self._lock:
            try:
                await step
            except Exception as error:
                self.redraw()
                self.show_error(f"error: {type(error).__name__}: {error}")
                return
            self.redraw()
