"""Imports go one way: artifacts and stats import nothing else of the package; plots only stats;
fwanalysis never imports trainer or torch; nothing imports the CLIs; the trainer writes runs only
through fwanalysis.artifacts. fwanalysis.vocab (the one vocabulary of choices) is a leaf: it imports
nothing of the package, and every layer, the trainer included, may import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved against its package)."""
    pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                out |= {mod} | {f"{mod}.{a.name}" for a in node.names}
            else:
                out.add(node.module)
    return out


VOCAB = "fwanalysis.vocab"


def files(*parts):
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def inside(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


@pytest.mark.parametrize("path", files("fwanalysis"), ids=lambda p: str(p.relative_to(ROOT)))
def test_fwanalysis_never_imports_torch_or_trainer(path):
    bad = [m for m in imports(path) if inside(m, "torch") or inside(m, "trainer")]
    assert not bad, f"{path}: {bad}"


@pytest.mark.parametrize("layer", ["artifacts", "stats"])
def test_lower_layers_import_nothing_above(layer):
    for path in files("fwanalysis", layer):
        for m in imports(path):
            if inside(m, "fwanalysis") and not inside(m, f"fwanalysis.{layer}") and m not in ("fwanalysis", VOCAB):
                # stats may use the bitset primitives of artifacts (pure functions on arrays)
                assert layer == "stats" and inside(m, "fwanalysis.artifacts.bitset"), f"{path} imports {m}"


def test_plots_import_only_stats():
    for path in files("fwanalysis", "plots"):
        for m in imports(path):
            if inside(m, "fwanalysis"):
                assert inside(m, "fwanalysis.stats") or inside(m, "fwanalysis.plots") or inside(m, VOCAB), f"{path} imports {m}"


def test_vocab_is_a_leaf():
    path = ROOT / "fwanalysis" / "vocab.py"
    assert not [m for m in imports(path) if inside(m, "fwanalysis") or inside(m, "trainer")]


def test_one_vocabulary():
    """No module but vocab spells out the tuple of built-in criteria or of output formats."""
    import re

    spelled = re.compile(r'\(\s*"magnitude",\s*"set",\s*"mest"|\(\s*"table",\s*"csv",\s*"json"\s*\)|\(\s*"first",\s*"end",\s*"time"\s*\)')
    offenders = [str(p.relative_to(ROOT)) for p in files("fwanalysis") + files("trainer")
                 if p.name != "vocab.py" and spelled.search(p.read_text())]
    assert not offenders


def test_nothing_imports_the_clis():
    for path in files("fwanalysis") + files("trainer"):
        if path.name == "cli.py":
            continue
        for m in imports(path):
            assert not (inside(m, "fwanalysis.cli") or inside(m, "trainer.cli")), f"{path} imports {m}"


def test_trainer_reaches_fwanalysis_only_through_artifacts():
    for path in files("trainer"):
        for m in imports(path):
            if inside(m, "fwanalysis") and m != "fwanalysis":
                assert inside(m, "fwanalysis.artifacts") or inside(m, VOCAB), f"{path} imports {m}"


def test_repository_stands_alone():
    """No tracked file points into a directory outside the repository (a person who clones it has only it)."""
    import re
    import subprocess

    outside = re.compile(r"\.\./" + "shared|" + "shared/" + r"(ARTIFACTS|CLI|STYLE)\.md")
    try:
        tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    offenders = []
    for name in tracked:
        p = ROOT / name
        if p.suffix in (".png", ".pdf", ".npz", ".parquet") or not p.is_file():
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{i}" for i, line in enumerate(text.splitlines(), 1) if outside.search(line)]
    assert not offenders
