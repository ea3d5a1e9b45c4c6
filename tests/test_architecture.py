"""The import rules of DESIGN.md, checked on the source (``ast``), so a break names its line.

* Only gradzoo/engine/backend.py imports numpy or cupy (cupyx too), even by name
  (``importlib.import_module("cupy")``).
* Imports flow one way: cli -> lab -> plugins -> engine, lab -> graph -> engine, and
  zoo -> plugins, engine. The engine imports nothing of gradzoo outside itself (the
  graph drawings watch it through engine/hooks.py); nothing imports the zoo (the
  plugin manager loads it by module name, as anyone's plugin).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gradzoo"
BACKEND = PACKAGE / "engine" / "backend.py"
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx"}

# the parts of gradzoo each part may import (besides itself)
ALLOWED = {
    "engine": set(),
    "graph": {"engine", "gradzoo"},
    "plugins": {"graph", "engine", "gradzoo"},
    "zoo": {"plugins", "engine", "gradzoo"},
    "lab": {"plugins", "graph", "engine", "gradzoo"},
    "cli": {"lab", "plugins", "graph", "engine", "gradzoo"},
    "__main__": {"cli"},
    "gradzoo": {"engine"},  # gradzoo/__init__.py re-exports the engine
}


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """'engine', 'zoo', 'cli'... for a gradzoo module; 'gradzoo' for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gradzoo"


def imports(path: Path):
    """(line, absolute module name) for each import in a file, function-level ones too."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..engine import y
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:  # from gradzoo import zoo: a module, not a name
                candidate = f"{base}.{alias.name}"
                if _is_module(candidate):
                    yield node.lineno, candidate


def dynamic_imports(path: Path):
    """(line, name) for ``importlib.import_module("name")`` and ``__import__("name")``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and getattr(node.func, "attr", getattr(node.func, "id", None))
                in ("import_module", "__import__")):
            yield node.lineno, node.args[0].value


def _is_module(name: str) -> bool:
    if not name.startswith("gradzoo."):
        return False
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line}"


def test_there_is_source_to_check():
    assert BACKEND.exists() and len(source_files()) > 5


def test_only_the_backend_imports_numpy_or_cupy():
    offenders = [f"{where(path, line)} imports {name}"
                 for path in source_files() if path != BACKEND
                 for line, name in [*imports(path), *dynamic_imports(path)]
                 if name.split(".")[0] in ARRAY_LIBRARIES]
    assert not offenders, ("only gradzoo/engine/backend.py may import numpy or cupy; use "
                           "backend.array_module / xp_of instead:\n" + "\n".join(offenders))


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_flow_one_way(part):
    offenders = []
    for path in source_files():
        module = module_name(path)
        if part_of(module) != part:
            continue
        for line, name in imports(path):
            if name != "gradzoo" and not name.startswith("gradzoo."):
                continue
            target = part_of(name)
            if target != part and target not in ALLOWED[part]:
                offenders.append(f"{where(path, line)} imports {name}")
    allowed = ", ".join(sorted(ALLOWED[part])) or "nothing of gradzoo outside itself"
    assert not offenders, (f"gradzoo.{part} may import {allowed} (DESIGN.md: cli -> lab -> "
                           f"plugins -> engine, lab -> graph -> engine, zoo -> plugins, "
                           f"engine):\n" + "\n".join(offenders))


def test_every_part_of_gradzoo_has_a_rule():
    parts = {part_of(module_name(path)) for path in source_files()}
    assert parts <= set(ALLOWED), f"no import rule for: {sorted(parts - set(ALLOWED))}"
