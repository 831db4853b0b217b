"""The project's set-up promises: conda and pip list the same dependencies, with lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDA_ONLY = {"python", "pip", "openjdk", "maven"}  # what pip cannot install


def _requirement(text: str) -> tuple[str, str]:
    """(name with its extras, if any, e.g. `faststream[kafka]`; version bound)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+(?:\[[A-Za-z0-9_.,-]+\])?)\s*(.*?)\s*", text)
    assert match, f"cannot read requirement {text!r}"
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(_requirement(r) for r in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pip_deps.update(_requirement(r) for r in extra)
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = dict(_requirement(d) for d in environment["dependencies"] if isinstance(d, str))
    from_pypi = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    conda_deps.update(_requirement(r) for r in from_pypi[0] if not r.startswith("-e"))
    assert {"openjdk", "maven"} <= conda_deps.keys()
    conda_deps = {k: v for k, v in conda_deps.items() if k not in CONDA_ONLY}
    assert conda_deps == pip_deps


def test_dependencies_have_lower_bounds_and_no_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    everything = [*project["dependencies"], *(r for extra in extras for r in extra)]
    for requirement in everything:
        name, bound = _requirement(requirement)
        assert bound.startswith(">="), f"{name} needs a lower bound, not {bound!r}"
        assert "==" not in bound and "<" not in bound, f"{name} is pinned: {bound}"


def test_every_notebook_is_committed_executed_with_png_images() -> None:
    import nbformat

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert [n.name[:2] for n in notebooks][:3] == ["00", "01", "02"]
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
        assert all(c.execution_count for c in code), f"{path.name} has unexecuted cells"
        for cell in code:
            for output in cell.outputs:
                assert output.output_type != "error", f"{path.name} was saved with an error"
                assert "image/svg+xml" not in output.get("data", {}), f"{path.name}: keep PNG"


def test_every_picture_is_saved_with_its_title_as_alt_text() -> None:
    # eda_lib.viz saves each figure's title beside its PNG; the static site and screen readers
    # use it. A picture without one has no title, or its notebook was run before this was so.
    import nbformat

    untitled = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
                    if not alt.strip():
                        untitled.append(f"{path.name}, cell {cell.get('id')}")
    assert untitled == [], "pictures saved with no title: " + "; ".join(untitled)


def test_importing_the_library_configures_no_logging() -> None:
    import subprocess
    import sys

    check = (
        "import logging, eda_lib, eda_lib.kafka, eda_lib.viz; "
        "assert logging.getLogger('aiokafka').level == logging.NOTSET; "
        "assert not logging.getLogger().handlers; "
        "eda_lib.quiet_kafka_logs(); "
        "assert logging.getLogger('aiokafka').level == logging.CRITICAL"
    )
    subprocess.run([sys.executable, "-c", check], check=True, cwd=ROOT)


def test_jupyterlab_opens_without_the_news_pop_up() -> None:
    import json

    from jupyterlab.commands import get_app_dir

    shipped = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    installed = Path(get_app_dir()) / "settings" / "overrides.json"
    assert installed.exists(), "make install copies jupyter/overrides.json into the environment"
    assert json.loads(installed.read_text()) == shipped
    notification = shipped["@jupyterlab/apputils-extension:notification"]
    schema = json.loads(
        (
            Path(get_app_dir())
            / "schemas"
            / "@jupyterlab"
            / "apputils-extension"
            / "notification.json"
        ).read_text()
    )
    allowed = {choice["const"] for choice in schema["properties"]["fetchNews"]["oneOf"]}
    assert notification["fetchNews"] == "false" and "false" in allowed
    assert notification["checkForUpdates"] is False
