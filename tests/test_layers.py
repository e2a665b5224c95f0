"""The package's layers hold: no module imports from a layer above it, and no import circle.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and the README's
"Architecture" section says what each layer is for. ``lint-imports`` checks them;
a module-level cycle check over grimp's graph catches a circle even between a
package and its own modules, which the siblings contract does not look at.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _contract_names() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return [c["name"] for c in tomllib.load(f)["tool"]["importlinter"]["contracts"]]


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    output = " ".join((done.stdout + done.stderr).split())  # rich wraps long names
    assert done.returncode == 0, done.stdout + done.stderr
    names = _contract_names()
    assert any(n.startswith("topcop layers") for n in names)
    for name in names:
        assert f"{name} KEPT" in output or f"{name}KEPT" in output, f"{name!r} not reported kept"
    assert f"{len(names)} kept, 0 broken" in output


def test_no_module_is_part_of_an_import_circle() -> None:
    graph = grimp.build_graph("topcop")
    circles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert circles == []


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: each group of modules that import each other round."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == module:
                        break
                found.append(group)
    return found
