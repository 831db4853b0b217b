"""eda_lib.testing itself: the recording producer, how a table of cases is judged, and pytest run
in a separate process with its outcomes read back from the JUnit report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from eda_lib import BrokerUnavailable
from eda_lib.domain import OrderShipped, PaymentSuccessful
from eda_lib.testing import Case, RecordingProducer, run_cases, run_pytest

PAID = PaymentSuccessful(payment_id="p", order_id="o", amount=5, currency="usd")


async def test_the_recording_producer_keeps_what_is_sent_or_fails_when_down() -> None:
    producer = RecordingProducer()
    report = await producer.send("shipments", OrderShipped(order_id="o"))
    await producer.publish("alerts", PAID)
    assert (report.topic, report.offset) == ("shipments", 0)
    assert [t for t, _ in producer.sent] == ["shipments", "alerts"]
    assert producer.events("alerts") == [PAID]
    with pytest.raises(BrokerUnavailable, match="broker is down"):
        await RecordingProducer(down=True).send("x", PAID)
    with pytest.raises(TypeError, match="mind the comma"):
        Case("one type", PAID, ("OrderShipped"))  # type: ignore[arg-type]


async def test_each_case_is_judged_on_what_was_published_and_raised() -> None:
    async def ships(producer: RecordingProducer, event: PaymentSuccessful) -> None:
        await producer.send("shipments", event.follow_up(OrderShipped, order_id=event.order_id))

    def make(producer: RecordingProducer):  # type: ignore[no-untyped-def]
        return lambda event: ships(producer, event)

    results = await run_cases(
        make,
        [
            Case("ships", PAID, ("OrderShipped",)),
            Case("expected nothing", PAID),
            Case("down, raises", PAID, producer_down=True, raises=BrokerUnavailable),
            Case("down, expected to work", PAID, ("OrderShipped",), producer_down=True),
            Case("expected to raise", PAID, ("OrderShipped",), raises=ValueError),
        ],
    )
    assert [o.passed for o in results.outcomes] == [True, False, True, False, False]
    details = [o.detail for o in results.outcomes]
    assert details[1] == "published ['OrderShipped'], expected []"
    assert details[3].startswith("raised BrokerUnavailable")
    assert details[4] == "expected ValueError, raised nothing"
    assert (results.passed, results.failed, bool(results)) == (2, 3, False)
    assert repr(results).splitlines()[-1] == "2 passed, 3 failed"


SAMPLE = (
    "import pytest\n"
    "def test_good():\n    assert 1 + 1 == 2\n"
    "def test_bad():\n    assert 1 + 1 == 3, 'arithmetic'\n"
    "@pytest.mark.skip(reason='not today')\n"
    "def test_skipped():\n    pass\n"
)


def test_pytest_runs_apart_and_each_outcome_is_read_back(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    results = run_pytest("test_sample.py", root=tmp_path)
    assert [(o.name, o.passed, o.skipped) for o in results.outcomes] == [
        ("test_sample::test_good", True, False),
        ("test_sample::test_bad", False, False),
        ("test_sample::test_skipped", True, True),
    ]
    assert "arithmetic" in results.outcomes[1].detail
    assert "not today" in results.outcomes[2].detail
    assert (results.passed, results.failed, results.skipped) == (1, 1, 1)
    assert repr(results).splitlines()[-1] == "1 passed, 1 failed, 1 skipped"
    with pytest.raises(RuntimeError, match="pytest did not run"):
        run_pytest("--no-such-option", root=tmp_path)


def test_the_progress_bar_changes_no_outcome_and_ends_on_the_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a test that passes, then fails in teardown: pytest -v reports it twice, the bar counts it once
    (tmp_path / "test_sample.py").write_text(
        SAMPLE + "@pytest.fixture\n"
        "def broken():\n    yield\n    raise RuntimeError('teardown')\n"
        "def test_torn_down(broken):\n    pass\n"
    )
    quiet = run_pytest("test_sample.py", root=tmp_path)
    assert capsys.readouterr().out == ""
    # as in a notebook, whose kernel sets FORCE_COLOR
    shown = run_pytest("test_sample.py", root=tmp_path, progress=True, FORCE_COLOR="1")
    assert shown == quiet
    assert len(quiet.outcomes) == 4
    last = capsys.readouterr().out.split("\r")[-1]  # what a notebook shows: the final state
    assert last == f"pytest: 100%|{'█' * 20}| 4/4 tests\n"


def test_a_run_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text("import time\ndef test_slow():\n    time.sleep(60)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        run_pytest("test_slow.py", root=tmp_path, timeout=3, progress=True)


def test_in_a_notebook_the_bar_is_one_line_replaced_at_each_step() -> None:
    # A notebook saves each carriage-return redraw as a line of its own: LastLine hands on only
    # the latest state, which the kernel shows in one display that each step replaces.
    from tqdm import tqdm

    from eda_lib.testing import _BAR, LastLine, kernel_line

    shown: list[str] = []
    bar = tqdm(desc="pytest", bar_format=_BAR, file=LastLine(shown.append), mininterval=0)
    bar.total = 2
    bar.refresh()
    bar.update()
    bar.update()
    bar.close()  # writes the final state again, and a newline: nothing new to show
    assert shown[-1] == f"pytest: 100%|{'█' * 20}| 2/2 tests"
    assert len(shown) == len(set(shown)) and all("\r" not in s and "\n" not in s for s in shown)
    assert kernel_line() is None  # not in a Jupyter kernel: the terminal redraws in place
