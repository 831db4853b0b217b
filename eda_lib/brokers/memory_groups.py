"""The in-memory broker's group coordinator: members, assignments, positions and commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eda_lib.brokers.base import (
    DuplicateMember,
    GroupState,
    NotOwner,
    Record,
    StartFrom,
    TopicInUse,
    TopicPartition,
    UnknownMember,
    check_join,
    refuse_stale_commit,
)
from eda_lib.brokers.memory_logs import Logs
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

    def __init__(self, logs: Logs, trace: Trace) -> None:
        self.logs = logs
        self.trace = trace
        self._groups: dict[str, _Group] = {}

    def join(self, group: str, topics: Sequence[str], member: str, start: StartFrom) -> None:
        check_join(topics, start)
        for topic in topics:
            self.logs.partitions(topic)  # raises UnknownTopic
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

    def _rebalance(self, group: _Group) -> None:
        """Round-robin over sorted partitions. Every member restarts from the committed offsets,
        so whatever was delivered but not committed is delivered again, to whichever member
        owns the partition now. A partition with no committed offset starts where the owner's
        `start` says, decided now, as on Kafka."""
        members = list(group.members.values())
        subscribed = sorted({topic for m in members for topic in m.topics})
        owned: dict[str, list[TopicPartition]] = {m.name: [] for m in members}
        turn = 0
        for topic in subscribed:
            for partition in range(self.logs.partitions(topic)):
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
        log = self.logs.log(tp)
        committed = group.committed.get(tp, group.started.get(tp))
        if committed is None:
            return log.start if start == "earliest" else log.end
        return max(committed, log.start)  # retention may have deleted what was never read

    def generation(self, group: str, member: str) -> int:
        state = self._groups.get(group)
        if state is None or member not in state.members:
            raise UnknownMember(group, member)
        return state.generation

    def member(self, group: str, member: str) -> tuple[_Group, _Member]:
        state = self._groups.get(group)
        if state is None or member not in state.members:
            raise UnknownMember(group, member)
        return state, state.members[member]

    def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        _, me = self.member(group, member)
        if partition not in me.positions:
            raise NotOwner(group, member, partition, me.assignment)
        end = self.logs.log(partition).end
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
            taken = self.logs.log(tp).slice(known, max_records - len(batch))
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

    async def commit(
        self,
        group: str,
        member: str,
        offsets: Mapping[TopicPartition, int],
        *,
        generation: int | None = None,
    ) -> None:
        """`InMemoryBroker.commit` itself (see there), asked once per event by most consumers."""
        state = self._groups.get(group)
        me = None if state is None else state.members.get(member)
        if state is None or me is None:
            raise UnknownMember(group, member)
        since, positions = me.since, me.positions
        for tp, offset in offsets.items():
            owned = since.get(tp)
            if owned is None or (generation is not None and owned > generation):
                refuse_stale_commit(since, offsets, generation, group, member)  # raises
            # Up to where the member has fetched is in the log; beyond that, ask the log.
            if not 0 <= offset <= (positions.get(tp) or 0):
                end = self.logs.end(tp.topic, tp.partition)
                if not 0 <= offset <= end:
                    raise ValueError(
                        f"cannot commit offset {offset} for {tp}: the log ends at {end}"
                    )
        committed, record = state.committed, self.trace.record
        for tp, offset in offsets.items():
            committed[tp] = offset
            record("committed", tp.topic, tp.partition, offset, group, member)

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
            for number in range(self.logs.partitions(topic)):
                tp = TopicPartition(topic, number)
                lag[tp] = self.logs.log(tp).end - self._start_position(group, tp, "earliest")
        return GroupState(
            group=group.name,
            topics=tuple(topics),
            members={m.name: m.assignment for m in group.members.values()},
            committed=dict(group.committed),
            lag=lag,
        )

    def clear(self) -> None:
        self._groups.clear()
