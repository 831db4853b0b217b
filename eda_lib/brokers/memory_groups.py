"""The in-memory broker's group coordinator: members, assignments, positions and commits.

The teaching core's `CoreBroker` does the same in a few lines; this one also keeps each member's
partitions fair (which partition a poll reads first turns round), decides a new group's start
once (so a rebalance before its first commit neither skips nor repeats), takes a fetch in two
steps (so a lost response can leave the positions where they were), and refuses a commit only for
a partition that changed hands since the records were polled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eda_lib.brokers.base import (
    DuplicateMember,
    GroupState,
    NotOwner,
    Offsets,
    Record,
    StartFrom,
    TopicInUse,
    TopicPartition,
    UnknownMember,
    check_join,
    refuse_stale_commit,
)
from eda_lib.core.broker import PartitionLog
from eda_lib.trace import Trace


@dataclass(slots=True)
class _Member:
    name: str
    topics: tuple[str, ...]
    start: StartFrom
    assignment: tuple[TopicPartition, ...] = ()
    # None: read the committed offset at the next poll (so a commit made just after a
    # rebalance, for a partition this member kept, still counts).
    positions: dict[TopicPartition, int | None] = field(default_factory=dict)
    since: dict[TopicPartition, int] = field(default_factory=dict)  # owned since generation
    turn: int = 0  # which assigned partition a poll reads first, so none starves
    fetched: dict[TopicPartition, int] = field(default_factory=dict)  # taken, not yet arrived


@dataclass(slots=True)
class _Group:
    name: str
    members: dict[str, _Member] = field(default_factory=dict)  # in join order
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    # Where a partition without a commit started for this group (its 'earliest' or 'latest'
    # was decided once), so a rebalance before the first commit neither skips nor repeats.
    started: dict[TopicPartition, int] = field(default_factory=dict)
    generation: int = 0


class Groups:
    """Consumer groups over `Logs`, assigned round-robin as Kafka's RoundRobinAssignor does."""

    def __init__(self, logs: Callable[[str], list[PartitionLog]], trace: Trace) -> None:
        self.logs = logs  # a topic's partition logs (raises UnknownTopic for a topic it lacks)
        self.trace = trace
        self._groups: dict[str, _Group] = {}

    def join(self, group: str, topics: Sequence[str], member: str, start: StartFrom) -> None:
        check_join(topics, start)
        for topic in topics:
            self.logs(topic)  # refuses a topic that does not exist
        state = self._groups.setdefault(group, _Group(group))
        if member in state.members:
            raise DuplicateMember(group, member)
        state.members[member] = _Member(member, tuple(topics), start)
        self._rebalance(state)

    def leave(self, group: str, member: str) -> None:
        state, _ = self.member(group, member)
        del state.members[member]
        self._rebalance(state)

    def forget_topic(self, topic: str) -> None:
        """Refuse while a group reads `topic`; else drop every group's offsets for it."""
        for group in self._groups.values():
            if any(topic in m.topics for m in group.members.values()):
                raise TopicInUse(group.name, topic)
        for group in self._groups.values():
            group.committed = {tp: o for tp, o in group.committed.items() if tp.topic != topic}
            group.started = {tp: o for tp, o in group.started.items() if tp.topic != topic}

    def topic_grew(self, topic: str) -> None:
        """Rebalance every group with a member reading `topic`, so that its new partitions
        have owners."""
        for group in self._groups.values():
            if any(topic in m.topics for m in group.members.values()):
                self._rebalance(group)

    def _rebalance(self, group: _Group) -> None:
        """Round-robin over sorted partitions. Every member restarts from the committed offsets,
        so whatever was delivered but not committed is delivered again, to whichever member
        owns the partition now. A partition with no committed offset starts where the owner's
        `start` says, decided now and kept until the group commits (Kafka decides again, by
        `auto.offset.reset`, at each assignment: with "latest" it skips what was delivered but
        not committed; the teaching core does as Kafka does)."""
        members = list(group.members.values())
        subscribed = sorted({topic for m in members for topic in m.topics})
        owned: dict[str, list[TopicPartition]] = {m.name: [] for m in members}
        turn = 0
        for topic in subscribed:
            for partition in range(len(self.logs(topic))):
                for _ in range(len(members)):
                    candidate = members[turn % len(members)]
                    turn += 1
                    if topic in candidate.topics:
                        owned[candidate.name].append(TopicPartition(topic, partition))
                        break
        group.generation += 1
        for m in members:
            kept = set(m.assignment)
            m.assignment = tuple(owned[m.name])
            m.since = {tp: m.since[tp] if tp in kept else group.generation for tp in m.assignment}
            for tp in m.assignment:
                if tp not in group.committed:
                    group.started.setdefault(tp, self._start_position(group, tp, m.start))
            m.positions = dict.fromkeys(m.assignment)  # resolved at the next poll
            m.fetched.clear()
            m.turn = 0
        layout = "; ".join(
            f"{m.name}: {', '.join(map(str, m.assignment)) or '(idle)'}" for m in members
        )
        self.trace.record(
            "rebalanced",
            group=group.name,
            detail=f"generation {group.generation}: {layout or 'no live members'}",
        )

    def _start_position(self, group: _Group, tp: TopicPartition, start: StartFrom) -> int:
        log = self._log(tp)
        committed = group.committed.get(tp, group.started.get(tp))
        if committed is None:
            return log.start if start == "earliest" else log.end
        return max(committed, log.start)  # retention may have deleted what was never read

    def _log(self, tp: TopicPartition) -> PartitionLog:
        return self.logs(tp.topic)[tp.partition]

    def generation(self, group: str, member: str) -> int:
        return self.member(group, member)[0].generation

    def member(self, group: str, member: str) -> tuple[_Group, _Member]:
        state = self._groups.get(group)
        if state is None or member not in state.members:
            raise UnknownMember(group, member)
        return state, state.members[member]

    def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        _, me = self.member(group, member)
        if partition not in me.positions:
            raise NotOwner(group, member, partition, me.assignment)
        end = self._log(partition).end
        if not 0 <= offset <= end:
            raise ValueError(f"cannot seek {partition} to {offset}: offsets run 0..{end}")
        me.positions[partition] = offset

    def take(self, group: str, member: str, max_records: int) -> list[Record]:
        """The member's next records, a fair share from each assigned partition in turn.
        Its positions move only on `advance`, once the response has arrived."""
        state, me = self.member(group, member)
        assigned = me.assignment
        batch: list[Record] = []
        me.fetched.clear()
        for i in range(len(assigned)):
            tp = assigned[(me.turn + i) % len(assigned)]
            known = me.positions[tp]
            if known is None:
                known = me.positions[tp] = self._start_position(state, tp, me.start)
            taken = self._log(tp).read(known, max_records - len(batch))
            if taken:
                me.fetched[tp] = taken[-1].offset + 1
                batch.extend(taken)
                if len(batch) >= max_records:
                    break
        me.turn += 1
        return batch

    def advance(self, group: str, member: str) -> None:
        """The member received what it last took: its next fetch starts after that."""
        me = self.member(group, member)[1]
        me.positions.update(me.fetched)
        me.fetched.clear()

    def caught_up(self, group: str, member: str) -> bool:
        """Whether the member has read to the end of every partition it owns."""
        positions = self.member(group, member)[1].positions
        return all(p is not None and p >= self._log(tp).end for tp, p in positions.items())

    def commit(self, group: str, member: str, offsets: Offsets, generation: int | None) -> None:
        """See `InMemoryBroker.commit`."""
        state, me = self.member(group, member)
        refuse_stale_commit(me.since, offsets, generation, group, member)
        for tp, offset in offsets.items():
            # Up to where the member has fetched is in the log; beyond that, ask the log.
            if not 0 <= offset <= (me.positions.get(tp) or 0):
                end = self._log(tp).end
                if not 0 <= offset <= end:
                    why = f"the log ends at {end}"
                    raise ValueError(f"cannot commit offset {offset} for {tp}: {why}")
        for tp, offset in offsets.items():
            state.committed[tp] = offset
            if self.trace.enabled:
                self.trace.record("committed", tp.topic, tp.partition, offset, group, member)

    def states(self) -> tuple[GroupState, ...]:
        return tuple(self._state(group) for group in self._groups.values())

    def _state(self, group: _Group) -> GroupState:
        topics = sorted(
            {t for m in group.members.values() for t in m.topics}
            | {tp.topic for tp in group.committed}
            | {tp.topic for tp in group.started}  # read before, even if nothing was committed
        )
        lag: dict[TopicPartition, int] = {}
        for topic in topics:
            for number, log in enumerate(self.logs(topic)):
                tp = TopicPartition(topic, number)
                lag[tp] = log.end - self._start_position(group, tp, "earliest")
        return GroupState(
            group=group.name,
            topics=tuple(topics),
            members={m.name: m.assignment for m in group.members.values()},
            committed=dict(group.committed),
            lag=lag,
        )

    def clear(self) -> None:
        self._groups.clear()
