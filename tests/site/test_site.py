"""The course's static site (`make site`) in a real browser: site/ served on 127.0.0.1 and every
page opened in Debian's Chromium through Playwright, with every request that does not go to that
server refused. Each page must load with no console error and no failed request, draw every
picture, and link only to pages and anchors that exist; search must find a lesson by a word only
that lesson has; widgets must be drawn as controls beside their picture, never as a raw repr; and
a lesson must also open from file://. Screenshots of two widget lessons and a plain lesson are
kept in artifacts/ (not committed).

The test builds the site if site/index.html is missing (site_src/build.py, about 10 seconds)."""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
ARTIFACTS = ROOT / "artifacts"
pytestmark = pytest.mark.site

# A word that only lesson 15's text contains (checked below against every page's source).
SEARCH_WORD, SEARCH_LESSON = "kubernetes", "15_capstone"
SCREENSHOTS = {"02_benefits", "12_resilience"}  # two widget lessons
PLAIN_LESSON = "08_kafka_producers_consumers"  # opened from file:// too (it has a widget)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

def _lessons() -> dict[str, dict[str, int]]:
    """For each lesson: its widgets, its collapsed (solution) cells and its Go blocks."""
    lessons = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        outputs = [o for c in cells for o in c.get("outputs", [])]
        markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        lessons[path.stem] = {
            "widgets": sum(WIDGET_VIEW in o.get("data", {}) for o in outputs),
            "collapsed": sum(
                bool(c["metadata"].get("jupyter", {}).get("source_hidden")) for c in cells
            ),
            "go": markdown.count("```go"),
        }
    return lessons


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        pytest.importorskip("myst_nb", reason="the [site] extra is not installed: run make site")
        build = [sys.executable, str(ROOT / "site_src" / "build.py")]
        subprocess.run(build, cwd=ROOT, check=True, timeout=600)
    return SITE


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class PageLog:
    """What went wrong while a page loaded: console errors, failed and refused requests."""

    def __init__(self, allowed_prefix: str) -> None:
        self.allowed_prefix = allowed_prefix
        self.problems: list[str] = []

    def attach(self, context: Any) -> None:
        context.route("**/*", self._route)

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", self._response)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith((self.allowed_prefix, "data:", "blob:")):
            route.continue_()
        else:  # anything else would be a CDN or the internet: refused, and a failure
            self.problems.append(f"refused (not from the site): {url}")
            route.abort("blockedbyclient")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def _pages(site: Path) -> list[str]:
    pages = site.rglob("*.html")
    return sorted(str(p.relative_to(site)) for p in pages if "_static" not in p.parts)


_ID = re.compile(r"""\bid=["']([^"']+)["']""")


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    return frozenset(_ID.findall(path.read_text(errors="replace")))


def _check_links(site: Path, page: str, hrefs: list[str], base: str) -> list[str]:
    """Every link to the site names a file that exists, and an id in it if it has a fragment."""
    broken = []
    for href in hrefs:
        if not href.startswith(base):
            continue
        parts = urlsplit(href)
        target = site / unquote(parts.path[len(urlsplit(base).path) :])
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{page}: link to a missing file {href}")
        elif parts.fragment and unquote(parts.fragment) not in _ids(target):
            broken.append(f"{page}: link to a missing anchor {href}")
    return broken


_PAGE_FACTS = """() => ({
  images: [...document.images].map(i => ({src: i.currentSrc || i.src, alt: i.alt,
                                          loaded: i.complete && i.naturalWidth > 0})),
  hrefs: [...document.querySelectorAll('a[href]')].map(a => a.href),
  html: document.documentElement.outerHTML,
})"""


def _load_all_images(page: Any) -> None:
    # Pictures inside collapsed solutions load only when shown: open every <details> first.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)


@pytest.mark.timeout(900)  # about a minute alone; more on a machine that is busy
def test_every_page_loads_from_the_site_alone(site: Path, served: str, browser: Any) -> None:
    pages = _pages(site)
    lessons = _lessons()
    assert {f"notebooks/{stem}.html" for stem in lessons} <= set(pages), pages
    assert {"index.html", "docs/architecture.html", "docs/testing.html"} <= set(pages), pages
    widget_lessons = {stem for stem, facts in lessons.items() if facts["widgets"]}
    assert widget_lessons, "no lesson shows a widget any more: update this test"
    problems: list[str] = []
    counts = {"pages": 0, "images": 0, "links": 0, "widgets": 0}
    ARTIFACTS.mkdir(exist_ok=True)
    log = PageLog(served)
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    log.attach(context)
    try:
        for name in pages:
            page = context.new_page()
            log.watch(page)
            page.goto(served + name, wait_until="load")
            stem = Path(name).stem
            if stem in lessons:
                problems += _check_lesson(page, name, lessons[stem])
            _load_all_images(page)
            if stem in widget_lessons:
                counts["widgets"] += _check_widget(page, stem)
            facts = page.evaluate(_PAGE_FACTS)
            for image in facts["images"]:
                if not image["loaded"]:
                    problems.append(f"{name}: picture not drawn: {image['src']}")
                if not image["alt"].strip():
                    problems.append(f"{name}: picture with no alt text: {image['src']}")
            for raw in ("VBox(children=", "HBox(children="):
                if raw in facts["html"]:
                    problems.append(f"{name}: a widget's raw repr {raw}")
            problems += _check_links(site, name, facts["hrefs"], served)
            problems += [f"{name}: {p}" for p in log.problems]
            log.problems.clear()
            counts["pages"] += 1
            counts["images"] += len(facts["images"])
            counts["links"] += len(facts["hrefs"])
            page.close()
    finally:
        context.close()
    print(f"site: {counts}")
    assert not problems, "\n".join(problems)
    assert counts["widgets"] == len(widget_lessons)


def _check_lesson(page: Any, name: str, facts: dict[str, int]) -> list[str]:
    """Solutions collapsed as in the notebook, Go blocks highlighted as Go, a "Next" link."""
    problems = []
    collapsed = page.locator("details.hide:not([open])").count()
    if collapsed != facts["collapsed"]:
        problems.append(
            f"{name}: {collapsed} collapsed cells, the notebook has {facts['collapsed']}"
        )
    go = page.locator("div.highlight-go").count()
    if go != facts["go"]:
        problems.append(f"{name}: {go} blocks highlighted as Go, the notebook has {facts['go']}")
    if not page.locator("a.right-next").count():
        problems.append(f"{name}: no link to the next page")
    return problems


def _check_widget(page: Any, stem: str) -> int:
    """The lesson's widget is drawn as controls, its saved picture beside it, and the page says
    why the controls do not respond."""
    widget = page.locator(".cell_output .jupyter-widgets.widget-vbox").first
    widget.wait_for(state="visible", timeout=30_000)
    assert widget.locator(".widget-inline-hbox, .widget-button, .widget-toggle-button").count()
    drawn = widget.locator("img.widget-image")
    if drawn.count():
        assert drawn.first.evaluate("i => i.naturalWidth > 0"), f"{stem}: widget image empty"
    # The static picture: the first picture of the cell that follows the widget's cell.
    cell = page.locator(".cell").filter(has=page.locator(".jupyter-widgets.widget-vbox")).first
    picture = cell.locator("xpath=following-sibling::div[contains(@class,'cell')][1]//img")
    assert picture.count(), f"{stem}: no picture in the cell after the widget"
    assert picture.first.is_visible() and picture.first.evaluate("i => i.naturalWidth > 0")
    assert page.get_by_text("make lab", exact=False).count(), f"{stem}: no note on the widget"
    if stem in SCREENSHOTS:
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"site-{stem}.png"))
    return 1


def _source_texts() -> dict[str, str]:
    texts = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        texts[path.stem] = json.dumps(cells).lower()
    for path in sorted((ROOT / "docs").glob("*.md")):
        texts[f"docs/{path.stem}"] = path.read_text().lower()
    texts["index"] = (ROOT / "README.md").read_text().lower()
    return texts


def test_search_finds_a_lesson_by_a_word_only_it_contains(served: str, browser: Any) -> None:
    holders = [name for name, text in _source_texts().items() if SEARCH_WORD in text]
    assert holders == [SEARCH_LESSON], f"pick another word: {SEARCH_WORD!r} is in {holders}"
    log = PageLog(served)
    context = browser.new_context()
    log.attach(context)
    try:
        page = context.new_page()
        log.watch(page)
        page.goto(f"{served}search.html?q={SEARCH_WORD}")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        found = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    finally:
        context.close()
    assert [h for h in found if "notebooks/" in h] and all(SEARCH_LESSON in h for h in found), found
    assert not log.problems, log.problems


def test_a_lesson_opens_from_the_file_system(site: Path, browser: Any) -> None:
    log = PageLog("file://")
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    log.attach(context)
    try:
        page = context.new_page()
        log.watch(page)
        page.goto((site / "notebooks" / f"{PLAIN_LESSON}.html").as_uri(), wait_until="load")
        _load_all_images(page)
        facts = page.evaluate(_PAGE_FACTS)
        page.screenshot(path=str(ARTIFACTS / f"site-file-{PLAIN_LESSON}.png"))
        next_link = page.locator("a.right-next")
        assert next_link.count() and "09_" in (next_link.first.get_attribute("href") or "")
    finally:
        context.close()
    assert facts["images"] and all(i["loaded"] for i in facts["images"]), facts["images"]
    assert not log.problems, log.problems
