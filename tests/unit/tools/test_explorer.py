"""The explorer behind lessons 03 and 06: one chain of events across topics, what readers of each
version make of a topic, a broker snapshot narrowed to one system, and their pictures."""

from __future__ import annotations

from eda_lib import Consumer, InMemoryBroker, Producer
from eda_lib.domain import LargePaymentFlagged, OrderApproved, OrderShipped, PaymentSuccessful
from eda_lib.exercises.lesson06 import TicketBooked, TicketBookedV2
from eda_lib.explorer import readings, story, story_table
from eda_lib.viz import draw_readings, draw_story, draw_topology


def _payment(n: int, amount: int = 1_000) -> PaymentSuccessful:
    return PaymentSuccessful(payment_id=f"p{n}", order_id=f"o{n}", amount=amount, currency="usd")


async def test_a_story_is_one_chain_causes_first_across_topics() -> None:
    first, other = _payment(1, 90_000), _payment(2)
    flagged = first.follow_up(
        LargePaymentFlagged, **first.data(), threshold=50_000
    )  # a later effect, published first below
    approved = flagged.follow_up(OrderApproved, order_id="o1")
    shipped = first.follow_up(OrderShipped, order_id="o1")
    async with InMemoryBroker() as broker:
        for topic in ("payments", "alerts", "orders", "shipments"):
            await broker.create_topic(topic)
        producer = Producer(broker, "test")
        await producer.send("orders", approved)  # effects stored before their causes
        await producer.send("alerts", flagged)
        await producer.send_all("payments", [other, first])
        await producer.send("shipments", shipped)
        chain = await story(broker, ["orders", "alerts", "payments", "shipments"], first.id)
    ids = [e.id for e in chain]
    assert set(ids) == {first.id, flagged.id, approved.id, shipped.id}  # not the other payment
    assert ids[0] == first.id
    assert ids.index(flagged.id) < ids.index(approved.id)
    lines = story_table(chain).splitlines()
    assert lines[0].startswith("PaymentSuccessful")
    assert next(line for line in lines if "OrderApproved" in line).startswith("        ")
    assert draw_story(chain).axes[0].get_title().startswith("one chain")


async def test_readings_show_each_reader_what_the_decoder_gives_it() -> None:
    async with InMemoryBroker() as broker:
        await broker.create_topic("tickets")
        producer = Producer(broker, "box-office")
        await producer.send("tickets", TicketBooked(ticket_id="t1", seat="12A"), key=None)
        await producer.send("tickets", TicketBookedV2(ticket_id="t2", row=3, letter="F"), key=None)
        seen = await readings(broker, "tickets", [TicketBooked, TicketBookedV2])
    grid = {(r.offset, r.reader.schema_version): r for r in seen}
    assert [r.written_version for r in seen] == [1, 1, 2, 2]
    assert grid[0, 1].event is not None and grid[1, 2].event is not None
    assert grid[1, 1].event is None and "cannot be read as v1" in grid[1, 1].why
    # v1 data read as v2 needs the exercise's upcaster, registered or not: the reading says so
    assert (grid[0, 2].event is None) == bool(grid[0, 2].why)
    figure = draw_readings(seen)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["reader of v1 (TicketBooked)", "reader of v2 (TicketBookedV2)"]


async def test_a_snapshot_narrowed_to_one_system() -> None:
    async with InMemoryBroker() as broker:
        for topic in ("orders", "readings"):
            await broker.create_topic(topic)
        await Producer(broker, "shop").send("orders", OrderShipped(order_id="o1"))
        async with Consumer(
            broker, "audit", ["orders", "readings"], lambda e: None, start="earliest"
        ) as c:
            await c.run()
        async with Consumer(broker, "heat", "readings", lambda e: None, start="earliest") as c:
            await c.run()
        narrowed = (await broker.describe()).only(["orders"])
        graph_nodes = draw_topology(narrowed, broker.trace).axes[0].texts
    assert {p.topic for p in narrowed.partitions} == {"orders", "orders.dead-letter"}
    assert [g.group for g in narrowed.groups] == ["audit"]
    assert narrowed.group("audit").topics == ("orders",)
    assert all(tp.topic == "orders" for tp in narrowed.group("audit").lag)
    assert not any("readings" in t.get_text() for t in graph_nodes)
    assert narrowed.only(["orders"], groups=["heat"]).groups == ()
