"""The import picture of the package: skorch behind the bridge, no circles,
no private helper borrowed across modules, and a light ``import skhep_ml``."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skhep_ml"

# The sklearn<->skorch bridge and its nets: the only modules that may import skorch.
BRIDGE = {"skhep_ml._base", "skhep_ml._nets"}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports():
    """``{module: [(imported module, [names]), ...]}``, function-level imports included."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        found = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.module, [alias.name for alias in node.names]))
        graph[name] = found
    return graph


GRAPH = _imports()


def test_the_graph_sees_the_package():
    assert {"skhep_ml._base", "skhep_ml._nets", "skhep_ml.utils", "skhep_ml.mda"} <= set(GRAPH)


def test_skorch_only_behind_the_bridge():
    users = {
        mod
        for mod, imports in GRAPH.items()
        for target, _ in imports
        if target.startswith("skorch")
    }
    assert users and users <= BRIDGE, f"skorch imported outside the bridge: {users - BRIDGE}"


def test_validation_helpers_import_nothing_from_the_package():
    assert not [t for t, _ in GRAPH["skhep_ml.utils"] if t.startswith("skhep_ml")]


def test_no_private_helper_is_borrowed_across_modules():
    borrowed = [
        (mod, target, name)
        for mod, imports in GRAPH.items()
        for target, names in imports
        if target.startswith("skhep_ml") and target != mod
        for name in names
        if name.startswith("_") and f"{target}.{name}" not in GRAPH  # a module is no helper
    ]
    assert not borrowed, borrowed


def _resolve(target):
    # "from skhep_ml import _nets" names a module; "from skhep_ml.nn import MLP" a package
    while target not in GRAPH and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_no_import_cycles():
    # the package's own __init__ re-exports lazily; it is no part of a cycle
    edges = {
        mod: {
            _resolve(t)
            for t, _ in imports
            if t.startswith("skhep_ml.") and _resolve(t) not in (mod, "skhep_ml")
        }
        for mod, imports in GRAPH.items()
    }
    # subpackages import their own submodules from __init__: not a cycle between modules
    for mod in edges:
        edges[mod] = {t for t in edges[mod] if not t.startswith(mod + ".")}

    def visit(node, stack):
        if node in stack:
            return [*stack[stack.index(node) :], node]
        for nxt in edges.get(node, ()):
            cycle = visit(nxt, [*stack, node])
            if cycle:
                return cycle
        return None

    for mod in edges:
        cycle = visit(mod, [])
        assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("heavy", ["torch", "skorch", "xgboost"])
def test_import_skhep_ml_is_light(heavy):
    code = f"import sys, skhep_ml, skhep_ml.metrics; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
