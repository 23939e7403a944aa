"""The layering of ``src/paleval`` (docs/architecture.md), read from the source with ``ast``:
which package may import which, no import cycle between modules (lazy imports inside
functions included), and no private name imported from another module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "paleval"

# package -> the paleval packages it may import (besides itself and ``paleval.__version__``)
ALLOWED: dict[str, set[str]] = {
    "_progress": set(),
    "codes": set(),
    "stats": set(),
    "plots": set(),
    "disclosure": set(),
    "registers": {"_progress", "codes"},
    "cohort": {"codes", "registers"},
    "synth": {"_progress", "codes", "registers", "stats"},
    "analyses": {"codes", "cohort", "disclosure", "plots", "stats"},
    "report": {
        "_progress",
        "analyses",
        "codes",
        "cohort",
        "disclosure",
        "plots",
        "registers",
        "synth",
    },
    "cli": {"_progress", "codes", "disclosure", "registers", "report", "synth"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for f in SRC.rglob("*.py"):
        parts = list(f.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _imports(mods: dict[str, Path]) -> list[tuple[str, str, str, int]]:
    """(importing module, imported module, imported name or "", line) for every paleval
    import anywhere in a module (top level or inside a function)."""
    out = []
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("paleval"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in mods:  # `from paleval.stats import regression`
                        out.append((mod, sub, "", node.lineno))
                    else:
                        out.append((mod, target, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                out += [
                    (mod, a.name, "", node.lineno)
                    for a in node.names
                    if a.name.startswith("paleval")
                ]
    return out


def _package(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "paleval"
    return parts[1]


MODULES = _modules()
IMPORTS = _imports(MODULES)


def test_every_package_is_in_the_layer_table() -> None:
    packages = {_package(m) for m in MODULES} - {"paleval"}
    assert packages == set(ALLOWED), "add the new package to ALLOWED and docs/architecture.md"


def test_packages_import_only_the_layers_below_them() -> None:
    bad = []
    for mod, target, name, line in IMPORTS:
        src, dst = _package(mod), _package(target)
        if src == "paleval" or src == dst:
            continue
        if dst == "paleval" and name in ("__version__", ""):
            continue
        if dst not in ALLOWED[src]:
            bad.append(f"{mod}:{line} imports {target} ({src} -> {dst})")
    assert not bad, "imports against the layering (docs/architecture.md):\n" + "\n".join(bad)


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, target, _, _ in IMPORTS:
        if target in MODULES and target != mod:
            graph[mod].add(target)
    # a package's __init__ re-exports its modules; an edge *into* a package from one of its
    # own modules would make every re-export look like a cycle, so those edges are left out
    for mod in graph:
        graph[mod] = {t for t in graph[mod] if not mod.startswith(t + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles (lazy imports count too): {cycles}"


# Known debt (issue 16), listed so that it can only shrink. Empty since session 8: the loaders
# and validation share the raw-reading layer through registers/_raw.py under public names.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def test_no_private_name_is_imported_from_another_module() -> None:
    found = {
        (mod, target, name)
        for mod, target, name, _ in IMPORTS
        if name.startswith("_") and not name.startswith("__") and target != mod
    }
    new = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not new, (
        "shared helpers belong in an underscore module under public names:\n"
        + "\n".join(f"{m} imports {n} from {t}" for m, t, n in new)
    )
    gone = sorted(KNOWN_PRIVATE_IMPORTS - found)
    assert not gone, f"fixed, so remove from KNOWN_PRIVATE_IMPORTS: {gone}"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from paleval.registers.loading import _scan_raw\n", "_scan_raw"),
        ("def f():\n    from .loading import _scan_raw\n", "_scan_raw"),
    ],
)
def test_the_private_import_check_sees_top_level_and_lazy_imports(
    tmp_path: Path, source: str, expected: str
) -> None:
    pkg = tmp_path / "paleval" / "registers"
    pkg.mkdir(parents=True)
    (tmp_path / "paleval" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "loading.py").write_text("def _scan_raw():\n    pass\n")
    (pkg / "validation.py").write_text(source)
    global SRC
    saved = SRC
    try:
        SRC = tmp_path / "paleval"
        found = [n for m, _, n, _ in _imports(_modules()) if m.endswith("validation")]
    finally:
        SRC = saved
    assert found == [expected]
