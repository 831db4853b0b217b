"""Lesson 07's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import contextlib

from eda_lib.exercises.lesson07 import (
    _table_scenario,
    check_careful_worker,
    check_latest_auditor,
    check_table_from_compacted,
)


def test_careful_worker() -> None:
    def right(queue, handle):  # type: ignore[no-untyped-def]
        for _ in range(20):
            message = queue.get("careful")
            if message is None:
                return
            try:
                handle(message.body)
            except TimeoutError:
                queue.nack(message)
            else:
                queue.ack(message)

    def acks_even_failures(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("careless")) is not None:
            with contextlib.suppress(TimeoutError):
                handle(message.body)
            queue.ack(message)

    def keeps_the_failure(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("hoarder")) is not None:
            try:
                handle(message.body)
                queue.ack(message)
            except TimeoutError:
                pass

    def stops_at_the_failure(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("brittle")) is not None:
            handle(message.body)
            queue.ack(message)

    def retries_inline(queue, handle):  # type: ignore[no-untyped-def]
        for _ in range(20):
            message = queue.get("stubborn")
            if message is None:
                return
            for _attempt in range(3):
                try:
                    handle(message.body)
                    break
                except TimeoutError:
                    continue
            queue.ack(message)

    def acks_first(queue, handle):  # type: ignore[no-untyped-def]  # then nacks what is gone
        while (message := queue.get("hasty")) is not None:
            queue.ack(message)
            try:
                handle(message.body)
            except TimeoutError:
                queue.nack(message)

    assert check_careful_worker(right)
    hasty = repr(check_careful_worker(acks_first))
    assert "refused an ack or nack" in hasty and "only after handle() went through" in hasty
    assert "catch the handler's error" not in hasty
    refused = repr(check_careful_worker(retries_inline))
    assert "never nacked" in refused and "queue.nack" in refused
    assert "acked 5" in repr(check_careful_worker(acks_even_failures))
    assert "still held" in repr(check_careful_worker(keeps_the_failure))
    assert "raised TimeoutError" in repr(check_careful_worker(stops_at_the_failure))


async def test_latest_auditor() -> None:
    from eda_lib import Consumer

    def latest(broker, seen):  # type: ignore[no-untyped-def]
        return Consumer(
            broker, "audit-new", "payments", lambda e: seen.append(e.payment_id), start="latest"
        )

    def earliest(broker, seen):  # type: ignore[no-untyped-def]
        return Consumer(
            broker, "audit-all", "payments", lambda e: seen.append(e.payment_id), start="earliest"
        )

    assert await check_latest_auditor(latest)
    assert "the auditor saw" in repr(await check_latest_auditor(earliest))
    assert "raised" in repr(await check_latest_auditor(lambda broker, seen: None))

    def counts_orders(broker, seen):  # type: ignore[no-untyped-def]  # notes the wrong field
        return Consumer(
            broker, "audit-new", "payments", lambda e: seen.append(e.order_id), start="latest"
        )

    wrong_field = repr(await check_latest_auditor(counts_orders))
    assert "saw the 3 new payments, but appended" in wrong_field and "start=" not in wrong_field

    def notes_events(broker, seen):  # type: ignore[no-untyped-def]  # the events, not their ids
        return Consumer(broker, "audit-new", "payments", seen.append, start="latest")

    objects = repr(await check_latest_auditor(notes_events))
    assert "appended PaymentSuccessful objects" in objects and "payment_id" in objects


def test_dead_worker_redelivery() -> None:
    from eda_lib.exercises.lesson07 import check_dead_worker_redelivery

    assert check_dead_worker_redelivery(5)  # the three it held went back
    for wrong in (2, 3, 0):  # "five minus the three lost", "the three it held", "nothing left"
        assert "acknowledged" in repr(check_dead_worker_redelivery(wrong))


async def test_replay_count() -> None:
    from eda_lib.exercises.lesson07 import check_replay_count

    assert await check_replay_count(12)  # every partition from its start
    for wrong in (0, 4, 11):  # "committed, so nothing", "one partition's share", an off-by-one
        assert "seeking to offset 0" in repr(await check_replay_count(wrong))


def test_table_from_compacted() -> None:
    def right(records):  # type: ignore[no-untyped-def]
        table = {}
        for record in records:
            if record.value is None:
                table.pop(record.key, None)
            else:
                table[record.key] = record.value
        return table

    def ignores_tombstones(records):  # type: ignore[no-untyped-def]
        return {r.key: r.value for r in records if r.value is not None}

    def stores_none(records):  # type: ignore[no-untyped-def]
        return {r.key: r.value for r in records}

    def first_value_wins(records):  # type: ignore[no-untyped-def]
        table = {}
        for r in records:
            if r.value is None:
                table.pop(r.key, None)
            else:
                table.setdefault(r.key, r.value)
        return table

    def deletes_with_del(records):  # type: ignore[no-untyped-def]
        table = {}
        for r in records:
            if r.value is None:
                del table[r.key]
            else:
                table[r.key] = r.value
        return table

    def deleted_forever(records):  # type: ignore[no-untyped-def]
        table, deleted = {}, set()
        for r in records:
            if r.value is None:
                deleted.add(r.key)
                table.pop(r.key, None)
            elif r.key not in deleted:
                table[r.key] = r.value
        return table

    def hard_coded(records):  # type: ignore[no-untyped-def]
        return right(_table_scenario(1)[0])

    def keys_as_text(records):  # type: ignore[no-untyped-def]
        return {k.decode(): v for k, v in right(records).items()}

    def empty_is_a_tombstone(records):  # type: ignore[no-untyped-def]
        table = {}
        for r in records:
            if not r.value:
                table.pop(r.key, None)
            else:
                table[r.key] = r.value
        return table

    def values_as_text(records):  # type: ignore[no-untyped-def]
        return {k: v.decode() for k, v in right(records).items()}

    def one_partition_only(records):  # type: ignore[no-untyped-def]
        return right([r for r in records if r.partition == 1])

    assert check_table_from_compacted(right)
    refusals = {
        ignores_tombstones: "still in your table",
        stores_none: "with the value None",
        first_value_wins: "the last one wins",
        deletes_with_del: "KeyError",
        deleted_forever: "can come back",
        hard_coded: "missing",
        keys_as_text: "keys as bytes",
        empty_is_a_tombstone: "an empty value is still a value",
        values_as_text: "values as bytes",
        one_partition_only: "from every partition",
    }
    for wrong, why in refusals.items():
        verdict = check_table_from_compacted(wrong)
        assert not verdict and why in verdict.message, (wrong.__name__, verdict.message)
