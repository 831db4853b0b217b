"""The library's shape, checked so that what docs/architecture.md says of it cannot drift: which
part may import which (the layering), no import cycles, and the size caps (the teaching core, every
module and every class)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "eda_lib"

# Bottom to top. A part may import from a tier below its own, or from its own tier (the cycle
# test keeps those acyclic); never from a tier above. Kept in step with docs/architecture.md.
TIERS: list[set[str]] = [
    {"core", "kafka_local"},  # each imports nothing else of eda_lib
    {"clock", "events", "compaction"},
    {"reading", "trace"},
    {"codecs", "faults", "course"},
    {"compatibility", "brokers"},
    {"resilience", "kafka", "queues", "store"},
    {"messaging", "resilience_topics"},
    {"pubsub", "testing", "processing", "sourcing", "simulate", "recap", "explorer", "tracing"},
    {"cqrs"},
    {"domain"},
    {"connect", "shop"},
    {"labs"},
    {"viz"},
    {"exercises"},
]
TIER = {part: number for number, parts in enumerate(TIERS) for part in parts}
MAX_CORE_LINES = 350
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 250


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()
# Parsed once, while the tests are collected: CPython 3.11's AST constructor keeps its recursion
# count in state shared by all threads, so a parse while another thread parses can fail
# (python/cpython#106905), and tests that run before these leave threads behind.
TREES = {path: ast.parse(path.read_text(), filename=str(path)) for path in MODULES.values()}


def _part(module: str) -> str:
    """`eda_lib.messaging.loop` -> `messaging`; the package's own `__init__` is `eda_lib`."""
    return module.split(".")[1] if "." in module else "eda_lib"


def _imports(path: Path) -> set[str]:
    """The eda_lib modules a module imports when it runs (not in `if TYPE_CHECKING:` blocks)."""
    tree = TREES[path]
    checking_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for child in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from eda_lib import clock` imports the module eda_lib.clock
            found.update(
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "eda_lib" or name.startswith("eda_lib.")}


def test_imports_are_absolute() -> None:
    """Relative imports would slip past the layering rule below, which reads absolute names."""
    relative = [
        str(path.relative_to(ROOT))
        for path in MODULES.values()
        for node in ast.walk(TREES[path])
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert relative == []


def test_every_part_of_the_library_has_a_tier() -> None:
    parts = {_part(module) for module in MODULES} - {"eda_lib"}
    assert parts == set(TIER), f"put new parts in TIERS: {sorted(parts - set(TIER))}"


def test_each_part_imports_only_from_below_or_beside_it() -> None:
    upward = []
    for module, path in MODULES.items():
        here = _part(module)
        if here == "eda_lib":
            continue  # the package's front door exports from every part
        for imported in _imports(path):
            there = _part(imported)
            if there != here and (there == "eda_lib" or TIER[there] > TIER[here]):
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_core_and_the_kafka_launcher_import_nothing_else_of_eda_lib() -> None:
    for module, path in MODULES.items():
        if _part(module) in ("core", "kafka_local"):
            others = {i for i in _imports(path) if _part(i) != _part(module)}
            assert others == set(), f"{module} imports {others}"


def test_there_are_no_import_cycles() -> None:
    modules = MODULES
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for imported in _imports(path):
            # `from eda_lib.x import y` may name a module y or a name in x: take the module.
            target = imported if imported in modules else imported.rpartition(".")[0]
            if target in modules and target != module:
                graph[module].add(target)
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_teaching_core_is_small_enough_to_read_in_one_sitting() -> None:
    lines = sum(len(p.read_text().splitlines()) for p in (PACKAGE / "core").glob("*.py"))
    assert lines <= MAX_CORE_LINES, f"eda_lib/core has {lines} lines"


def test_modules_and_classes_stay_small() -> None:
    too_long = []
    for module, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(TREES[path]):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []
