"""Imports go one way: artifacts and stats import nothing else of the package; plots only stats;
fwanalysis never imports trainer or torch; nothing imports the CLIs; the trainer writes runs only
through fwanalysis.artifacts. fwanalysis.record (the Recorder for PyTorch loops) sits beside the analysis:
it imports only artifacts, vocab and the criterion table, and nothing of fwanalysis imports it. fwanalysis.vocab
(the one vocabulary of choices) and fwanalysis.criteria (the criterion table it derives the criteria from, with
the selection rules the trainer and the Recorder share) are leaves: the table imports nothing else of the package,
vocab only the table, and every layer, the trainer included, may import both."""

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
TABLE = "fwanalysis.criteria"
LEAVES = (VOCAB, TABLE)


def files(*parts):
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def inside(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def leaf(mod: str) -> bool:
    """Whether ``mod`` is (in) one of the leaves every layer may import: the vocabulary, the criterion table."""
    return any(inside(mod, m) for m in LEAVES)


#: The only parts of fwanalysis that may touch torch, and only inside a function (when called): the
#: Recorder for PyTorch loops, the importers that read torch.save files and the criteria's selection rules
#: (shared by the trainer and the Recorder). Importing any module of fwanalysis never imports torch, so `fwa`
#: installs and runs without it (pyproject: torch is in the `train` extra).
TORCH_FACING = ("fwanalysis.record", "fwanalysis.importers", "fwanalysis.criteria.rules", "fwanalysis.criteria.select")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def module_level_imports(path: Path) -> set[str]:
    """The absolute modules a file imports when it is imported (imports inside functions left out)."""
    tree = ast.parse(path.read_text())
    out, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out.add(node.module)
        todo.extend(ast.iter_child_nodes(node))
    return out


@pytest.mark.parametrize("path", files("fwanalysis"), ids=lambda p: str(p.relative_to(ROOT)))
def test_fwanalysis_never_imports_torch_or_trainer(path):
    assert not [m for m in imports(path) if inside(m, "trainer")], f"{path} imports the trainer"
    facing = any(inside(module_name(path), m) for m in TORCH_FACING)
    found = module_level_imports(path) if facing else imports(path)
    bad = [m for m in found if inside(m, "torch")]
    assert not bad, f"{path}: {bad}" + (
        " at module level (import torch inside the function that needs it)" if facing else ""
    )


def test_importing_fwanalysis_never_imports_torch():
    """Every module of fwanalysis, the CLI and the Recorder included, imports without loading torch."""
    import subprocess
    import sys

    mods = sorted({module_name(p) for p in files("fwanalysis")})
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in mods)
    code += "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:5]\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.parametrize("layer", ["artifacts", "stats"])
def test_lower_layers_import_nothing_above(layer):
    for path in files("fwanalysis", layer):
        for m in imports(path):
            if inside(m, "fwanalysis") and not inside(m, f"fwanalysis.{layer}") and m != "fwanalysis" and not leaf(m):
                # stats may use the bitset primitives of artifacts (pure functions on arrays)
                assert layer == "stats" and inside(m, "fwanalysis.artifacts.bitset"), f"{path} imports {m}"


def test_plots_import_only_stats():
    for path in files("fwanalysis", "plots"):
        for m in imports(path):
            if inside(m, "fwanalysis"):
                assert inside(m, "fwanalysis.stats") or inside(m, "fwanalysis.plots") or leaf(m), f"{path} imports {m}"


def test_record_sits_beside_the_analysis():
    """The Recorder (the one module written for PyTorch loops) is imported by no other module of fwanalysis,
    and uses only the writer, the vocabulary and the criterion table, so the analysis never depends on it."""
    record = ROOT / "fwanalysis" / "record.py"
    for path in files("fwanalysis"):
        if path != record:
            assert not [m for m in imports(path) if inside(m, "fwanalysis.record")], f"{path} imports fwanalysis.record"
    used = {m for m in imports(record) if inside(m, "fwanalysis")}
    assert used and all(inside(m, "fwanalysis.artifacts") or leaf(m) for m in used), used


def test_vocab_is_a_leaf():
    """vocab imports nothing of the package but the criterion table it derives the criteria's names from."""
    path = ROOT / "fwanalysis" / "vocab.py"
    found = [m for m in imports(path) if inside(m, "fwanalysis") or inside(m, "trainer")]
    assert found and all(m == "fwanalysis" or inside(m, TABLE) for m in found), found


def test_criterion_table_is_a_leaf():
    """The criterion table and its rules import nothing of the package but themselves, nor the trainer."""
    for path in files("fwanalysis", "criteria"):
        bad = [m for m in imports(path) if (inside(m, "fwanalysis") or inside(m, "trainer")) and m != "fwanalysis"]
        assert not [m for m in bad if not inside(m, TABLE)], f"{path} imports {bad}"


def test_one_vocabulary():
    """No module but vocab spells out the tuple of built-in criteria or of output formats."""
    import re

    spelled = re.compile(
        r'\(\s*"magnitude",\s*"set",\s*"mest"|\(\s*"table",\s*"csv",\s*"json"\s*\)|\(\s*"first",\s*"end",\s*"time"\s*\)'
    )
    offenders = [
        str(p.relative_to(ROOT))
        for p in files("fwanalysis") + files("trainer")
        if p.name != "vocab.py" and spelled.search(p.read_text())
    ]
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
                assert inside(m, "fwanalysis.artifacts") or leaf(m), f"{path} imports {m}"


def test_repository_stands_alone():
    """No tracked file points into a directory outside the repository (a person who clones it has only it)."""
    import re
    import subprocess

    outside = re.compile(r"\.\./" + "shared|" + "shared/" + r"(ARTIFACTS|CLI|STYLE)\.md")
    try:
        tracked = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.split()
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
