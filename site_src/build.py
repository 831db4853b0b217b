"""Build the course as a static site in site/: `python site_src/build.py` (what `make site` runs;
`--requirements` prints the [site] extra's requirements, `--strict` turns warnings into errors).

Three steps, none of which executes a notebook:
1. fetch the widget HTML manager and require.js from the npm registry into build/site-cache/
   (once; each tarball checked against its pinned sha512), so that the pages load them from the
   site itself rather than from a CDN;
2. lay the sources out in build/site-src/: the home page (the README's opening and lesson
   table), a copy of each committed notebook with site-only metadata added (solutions collapsed,
   alt text on pictures, a note above each widget), and the docs/ pages;
3. run Sphinx with MyST-NB (configuration: site_src/conf.py) into build/site-html/, and copy
   that to site/.

Files in build/site-src/ are rewritten only when their content changes, so a second build
re-renders only what changed."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "build" / "site-src"
CACHE = ROOT / "build" / "site-cache"
ASSETS = CACHE / "assets"  # copied into the site's _static/ (conf.py lists it)
# Sphinx builds into build/site-html/ and the result is copied to site/: MyST-NB writes its
# pictures into a folder beside the build's output folder, which must not be the project's root.
HTML = ROOT / "build" / "site-html"
OUT = ROOT / "site"

# name, version, sha512 of the tarball (as `npm view NAME@VERSION dist.integrity` prints it)
NPM_PACKAGES = [
    (
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
    ),
    (
        "requirejs",
        "2.3.8",
        "7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
    ),
]
REGISTRY = "https://registry.npmjs.org"
# The embed bundle's fonts (FontAwesome, for button icons) are looked up beside it.
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")

LESSON_LINK = re.compile(r"\]\((\d\d_\w+)\.ipynb")
WIDGET_NOTE = (
    "```{note}\n"
    "The controls below are drawn from the state the notebook saved when it was run. With no "
    "Python kernel behind this page they do not respond. To use them, clone the course and run "
    "`make lab` (it opens JupyterLab), then open this lesson and run its cells. The picture "
    "that follows them is the same state, saved as an image.\n"
    "```"
)


def fetch_npm(name: str, version: str, sha512: str) -> Path:
    """The package's tarball in the cache, downloaded once and checked against its hash."""
    tarball = CACHE / "npm" / f"{name.replace('/', '+')}-{version}.tgz"
    if not tarball.exists():
        url = f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
        print(f"==> fetching {name}@{version} from the npm registry")
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        got = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if got != sha512:
            raise SystemExit(f"{url}: sha512 {got} is not the pinned {sha512}; refusing it")
        tarball.parent.mkdir(parents=True, exist_ok=True)
        tarball.write_bytes(data)
    return tarball


def unpack_assets() -> None:
    """The widget manager's AMD embed bundle with its fonts, and require.js, in ASSETS/widgets."""
    target = ASSETS / "widgets"
    manager, requirejs = (fetch_npm(*package) for package in NPM_PACKAGES)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(manager) as tar:
        for member in tar.getmembers():
            name = member.name
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is None:
                continue
            if name == "package/dist/embed-amd.js":
                _write_if_changed(target / "embed-amd.js", _file_url_safe(extracted.read()))
            elif name.startswith("package/dist/") and name.endswith(FONT_SUFFIXES):
                # where the controls module looks: beside its AMD name (widgets-setup.js)
                _write_if_changed(target / "@jupyter-widgets" / Path(name).name, extracted.read())
            elif name == "package/LICENSE":
                _write_if_changed(target / "LICENSE.html-manager", extracted.read())
    with tarfile.open(requirejs) as tar:
        extracted = tar.extractfile("package/require.js")
        assert extracted is not None
        _write_if_changed(target / "require.js", extracted.read())
    if not (target / "LICENSE.html-manager").exists():  # the package ships its licence in
        _write_if_changed(  # package.json only
            target / "LICENSE.html-manager", b"BSD-3-Clause, Copyright (c) Jupyter Development Team"
        )


# Each module of the bundle computes the folder of its fonts as `${url.origin}${url.pathname}`;
# a file:// URL's origin is "null", so from a file system the fonts were asked for at null/...
ORIGIN_AND_PATH = re.compile(rb"`\$\{(\w)\.origin\}\$\{\1\.pathname\}`")


def _file_url_safe(bundle: bytes) -> bytes:
    patched, count = ORIGIN_AND_PATH.subn(rb'(\1.href.split("?")[0].split("#")[0])', bundle)
    if count == 0:
        raise SystemExit("embed-amd.js changed: site_src/build.py's file:// patch no longer fits")
    return patched


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _section(markdown: str, heading: str) -> str:
    """One `## heading` part of a Markdown file, heading included."""
    match = re.search(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", markdown, re.M | re.S)
    if match is None:
        raise SystemExit(f"README.md has no '## {heading}' section; site_src/build.py needs it")
    return match.group(0)


def home_page(lessons: list[str]) -> str:
    """README's opening and its lesson table, then the table of contents in course order."""
    readme = (ROOT / "README.md").read_text()
    opening = readme.split("\n## ", 1)[0]
    parts = [
        opening.replace("# eda-notebooks", "# Event-driven architecture, hands-on", 1).rstrip(),
        "This site is the course's notebooks as they were last run, with their outputs and "
        "pictures. To run them yourself, clone the course and run `make lab`.",
        _section(readme, "Lessons").rstrip(),
        _section(readme, "Further reading").rstrip(),
        "```{toctree}\n:hidden:\n:caption: Lessons\n\n" + "\n".join(lessons) + "\n```",
        "```{toctree}\n:hidden:\n:caption: The library\n\n"
        "docs/architecture\ndocs/kafka\ndocs/testing\ndocs/performance\n```",
    ]
    return "\n\n".join(parts) + "\n"


def _heading_before(cells: list[dict[str, Any]], index: int) -> str:
    for cell in reversed(cells[:index]):
        if cell["cell_type"] == "markdown":
            for line in reversed("".join(cell["source"]).splitlines()):
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def alt_text(cells: list[dict[str, Any]], index: int) -> str:
    """The figures' titles, as the notebook saved them beside each PNG (eda_lib.viz.alt_text);
    failing that, a title the cell passes; otherwise what draws the picture and where."""
    saved = [
        output.get("metadata", {}).get("image/png", {}).get("alt", "")
        for output in cells[index].get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    if all(saved):
        return "; ".join(dict.fromkeys(saved))
    source = "".join(cells[index]["source"])
    titled = re.findall(r"""title\s*=\s*(?:f?"([^"]+)"|f?'([^']+)')""", source)
    if titled:
        return "; ".join(double or single for double, single in titled)
    heading = _heading_before(cells, index).replace("`", "")
    where = f"in the section '{heading}'" if heading else "in this lesson"
    drawn_by = _last_call(source)
    return f"Picture drawn by {drawn_by}, {where}" if drawn_by else f"Picture {where}"


def _last_call(source: str) -> str:
    """The cell's last top-level call other than print(), as one line: what drew its picture."""
    try:
        tree = compile(source, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:  # IPython syntax (a magic); the section's heading is enough then
        return ""
    for statement in reversed(tree.body):
        value = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) not in {"print", "display"}:
            return ast.unparse(value)
    return ""


def site_notebook(path: Path) -> dict[str, Any]:
    """The committed notebook with what the site needs added; its outputs are untouched."""
    notebook = json.loads(path.read_text())
    cells: list[dict[str, Any]] = []
    for index, cell in enumerate(notebook["cells"]):
        metadata = cell.setdefault("metadata", {})
        hidden = metadata.get("jupyter", {})
        tags = metadata.setdefault("tags", [])
        # JupyterLab's collapsed source and outputs, as MyST-NB's collapsed-cell tags.
        if hidden.get("source_hidden") and hidden.get("outputs_hidden"):
            tags.append("hide-cell")
        elif hidden.get("source_hidden"):
            tags.append("hide-input")
        elif hidden.get("outputs_hidden"):
            tags.append("hide-output")
        outputs = cell.get("outputs", [])
        if any("image/png" in output.get("data", {}) for output in outputs):
            options = metadata.setdefault("mystnb", {}).setdefault("image", {})
            options.setdefault("alt", alt_text(notebook["cells"], index))
        if cell["cell_type"] == "markdown":  # the README is the site's home page
            cell["source"] = "".join(cell["source"]).replace("](../README.md)", "](../index.md)")
        for output in outputs:  # a table a cell printed links lessons by their notebook's name
            if "text/markdown" in output.get("data", {}):
                text = "".join(output["data"]["text/markdown"])
                output["data"]["text/markdown"] = LESSON_LINK.sub(r"](\1.html", text)
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs):
            cells.append(
                {
                    "cell_type": "markdown",
                    "id": f"site-widget-note-{index}",
                    "metadata": {},
                    "source": WIDGET_NOTE,
                }
            )
        cells.append(cell)
    notebook["cells"] = cells
    return notebook


def stage() -> None:
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    wanted: set[Path] = set()

    def put(relative: str, text: str) -> None:
        target = SOURCE / relative
        wanted.add(target)
        _write_if_changed(target, text.encode())

    put("index.md", home_page([f"notebooks/{path.stem}" for path in lessons]))
    for path in lessons:
        text = json.dumps(site_notebook(path), indent=1, ensure_ascii=False) + "\n"
        put(f"notebooks/{path.name}", text)
    for path in sorted((ROOT / "docs").glob("*.md")):
        put(f"docs/{path.name}", path.read_text())
    for stale in [p for p in SOURCE.rglob("*") if p.is_file() and p not in wanted]:
        stale.unlink()  # a lesson renamed or removed leaves no page behind


def site_requirements() -> list[str]:
    """The [site] extra of pyproject.toml, for `make site` to install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"]["site"])


def main() -> int:
    if "--requirements" in sys.argv:
        print(" ".join(site_requirements()))
        return 0
    unpack_assets()
    stage()
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",  # warnings still print
        "-c",
        str(ROOT / "site_src"),
        "-d",
        str(CACHE / "doctrees"),
        str(SOURCE),
        str(HTML),
    ]
    if "--strict" in sys.argv:
        command.insert(3, "-W")
    print("==> sphinx-build (MyST-NB) into build/site-html/")
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        return result.returncode
    shutil.rmtree(OUT, ignore_errors=True)  # a page whose lesson was removed goes too
    shutil.copytree(HTML, OUT)
    print(f"==> the site is in {OUT.relative_to(ROOT)}/ (open {OUT.name}/index.html)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
