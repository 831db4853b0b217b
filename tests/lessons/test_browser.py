"""The failure lab in a real browser: JupyterLab on 127.0.0.1, lesson 12 opened in Debian's
Chromium through Playwright, every cell run, then a fault control and the publish button clicked
on the rendered widget; the counters and the picture on the page must change. A screenshot is
kept in artifacts/ (not committed)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it"
        )
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # A copy: JupyterLab autosaves, and the committed notebook must keep its outputs.
    shutil.copy(ROOT / "notebooks" / "12_resilience.ipynb", tmp_path / "lab.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "jupyter.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'jupyter.log').read_text()}")
        yield f"{base}/lab/tree/lab.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _expected_counters() -> tuple[int, int]:
    """What the lesson's widget lab counts before the clicks (produced) and after them
    (handled), worked out by doing the same through the lab's API, outside the browser."""
    import asyncio

    from eda_lib.labs import FailureLab

    async def replay() -> tuple[int, int]:
        lab = FailureLab(
            topics=("payments", "orders", "refunds"),
            groups=("shipping", "receipts", "analytics", "fraud"),
            seed=1,
        )
        # what the lesson's cell does before showing the widget
        await lab.set_down("analytics", True)
        lab.set_poison_every(5)
        lab.set_fault("duplicate", 0.1)
        await lab.publish(30)
        await lab.step(3)
        produced = (await lab.counters()).produced
        await lab.set_down("fraud", True)  # the clicks: fraud down, publish 10, run 10 steps
        await lab.publish(10)
        await lab.step(10)
        return produced, (await lab.counters()).handled

    return asyncio.run(replay())


def test_clicking_the_failure_lab_changes_counters_and_picture(jupyterlab: str) -> None:
    from playwright.sync_api import sync_playwright

    produced_before, handled_after = _expected_counters()

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(jupyterlab)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            # The kernel must be up before "Run All", or the cells are only cleared.
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            publish = page.get_by_role("button", name="publish 10")
            publish.wait_for(timeout=120_000)
            counters = page.locator(".widget-html-content").filter(has_text="produced")
            picture = page.locator(".widget-image")
            page.wait_for_function(
                "() => document.querySelector('.widget-image')?.src?.length > 0", timeout=60_000
            )
            # JupyterLab renders only the cells in view (innerText of the others is ''), and
            # "Run All" leaves the view at the end of the notebook: bring the widget back, and
            # wait for it to be drawn.
            counters.scroll_into_view_if_needed()
            page.wait_for_function(
                "expected => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.innerText.includes(expected))",
                arg=f"{produced_before}\nproduced",
                timeout=30_000,
            )
            before = (counters.inner_text(), picture.get_attribute("src"))
            assert f"{produced_before}\nproduced" in before[0].replace("\r", "")

            page.get_by_role("button", name="fraud down").click()  # a fault control
            publish.click()
            page.get_by_role("button", name="run 10 steps").click()
            page.wait_for_function(
                "previous => document.querySelector('.widget-image').src !== previous",
                arg=before[1],
                timeout=60_000,
            )
            page.wait_for_function(  # the ten steps done: the count the API gave outside
                "expected => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.innerText.includes(expected))",
                arg=f"{handled_after}\nhandled",
                timeout=60_000,
            )
            counters.scroll_into_view_if_needed()
            after = (counters.inner_text(), picture.get_attribute("src"))
            assert after[0] != before[0] and after[1] != before[1]
            picture.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "failure-lab.png"), full_page=False)
        except Exception:
            page.screenshot(path=str(artifacts / "failure-lab-error.png"), full_page=False)
            raise
        finally:
            browser.close()
