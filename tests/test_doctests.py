"""The usage examples in the docstrings of trainer.models and trainer.data run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("trainer.models", "trainer.data")


def _modules(package: str) -> list[str]:
    """The package and the modules directly inside it."""
    pkg = importlib.import_module(package)
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


@pytest.mark.parametrize("package", PACKAGES)
def test_docstring_examples(package):
    attempted = 0
    for name in _modules(package):
        result = doctest.testmod(
            importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True
        )
        assert result.failed == 0, (
            f"{name}: {result.failed} of {result.attempted} docstring examples failed (printed above)"
        )
        attempted += result.attempted
    assert attempted > 0, f"{package} has no docstring examples left to run"
