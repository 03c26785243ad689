"""The core does no I/O: it imports no Flask, confluent-kafka, boto3 or shell module."""

import ast
import pathlib

import pytest

CORE = pathlib.Path(__file__).resolve().parents[2] / "hooks" / "core"
FORBIDDEN = (
    "flask",
    "confluent_kafka",
    "boto3",
    "botocore",
    "hooks.shell",
    "hooks.reconcile",
    "hooks.app",
)


def _imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "hooks.core" if node.level == 1 else "hooks"
                names.append(f"{base}.{node.module}" if node.module else base)
            else:
                names.append(node.module or "")
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_nothing_that_does_io(path):
    bad = [n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == [], f"{path.name} imports {bad}"


def test_the_check_sees_core_modules():
    assert len(list(CORE.rglob("*.py"))) >= 5
