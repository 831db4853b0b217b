"""Lesson 11's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.exercises.lesson11 import check_auditing_publisher


async def test_auditing_publisher() -> None:
    class Right:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner, self.published = inner, []

        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            report = await self.inner.publish(topic, event)
            self.published.append(event.id)
            return report

    class Swallows(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            self.published.append(event.id)

    class Forgets(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            return await self.inner.publish(topic, event)

    assert await check_auditing_publisher(Right)
    assert "0 of 3" in repr(await check_auditing_publisher(Swallows))
    assert "ids" in repr(await check_auditing_publisher(Forgets))
