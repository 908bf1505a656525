"""The usage examples in the docstrings of trainer.models and trainer.data run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("trainer.models", "trainer.data")


def _modules() -> list[str]:
    out = []
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        out.append(name)
        out += [f"{name}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_docstring_examples(package):
    attempted = 0
    for name in [m for m in _modules() if m == package or m.startswith(package + ".")]:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
        assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed (printed above)"
        attempted += result.attempted
    assert attempted > 0, f"{package} has no docstring examples left to run"
