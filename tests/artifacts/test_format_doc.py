"""docs/format.md stays true: its hand-written example writes a valid run, and it names every key.

Cheap: the example writes a two-layer toy run of a few hundred weights, no training.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fwanalysis.artifacts import load_run, manifest, reader, schema
from fwanalysis.cli import app
from fwanalysis.vocab import CRITERIA

DOC = Path(__file__).resolve().parents[2] / "docs" / "format.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _example(name: str) -> str:
    """The python block that follows the marker ``<!-- format-example: name -->`` in docs/format.md."""
    found = re.findall(rf"<!-- format-example: {name} -->\s*```python\n(.*?)```", _text(), re.S)
    assert len(found) == 1, f"docs/format.md must hold exactly one example marked {name!r}"
    return found[0]


def _exec(code: str, name: str, ns: dict) -> None:
    exec(compile(code, f"docs/format.md:{name}", "exec"), ns)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Run the plain example, then the RunWriter one (which continues from its variables), in a fresh directory."""
    root = tmp_path_factory.mktemp("format-doc")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    try:
        ns: dict = {"__name__": "__format_example__"}
        _exec(_example("plain"), "plain", ns)
        plain = root / "study" / "toy-magnitude-s0"
        assert (plain / "run.json").is_file(), "the plain example must write study/toy-magnitude-s0"
        _exec(_example("runwriter"), "runwriter", ns)
    finally:
        mp.undo()
    return root, plain, root / "study" / "toy-magnitude-s0-rw"


def test_plain_example_writes_a_valid_run(written):
    source = _example("plain")
    assert "fwanalysis" not in source and "RunWriter" not in source, "the plain example must not use fwa"
    _, plain, _ = written
    run = load_run(plain)
    assert run.validate() == []
    assert run.status == "complete"
    assert run.layer_names == ["fc1.weight", "fc2.weight"]
    assert run.mask_steps == [0, 20] and run.update_steps == [10] and run.state_steps == [10]
    assert run.shadow_criteria == ["magnitude", "random"]
    upd = run.update(10)
    for name in run.layer_names:  # the doc's promises about the sets hold for its own example
        np.testing.assert_array_equal(upd.shadow["magnitude"][name], upd.pruned[name])
        before, after = run.initial_masks()[name], run.final_masks()[name]
        np.testing.assert_array_equal((before & ~upd.pruned[name]) | upd.grown[name], after)


def test_plain_example_needs_only_numpy_pyarrow_and_the_standard_library():
    """A stranger can follow it without fwa: its imports are numpy, pyarrow and standard modules, nothing else."""
    import ast
    import sys

    tree = ast.parse(_example("plain"))
    mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    third_party = {m.split(".")[0] for m in mods} - set(sys.stdlib_module_names)
    assert third_party == {"numpy", "pyarrow"}, mods


def test_fwa_validate_accepts_the_example(written):
    _, plain, _ = written
    r = CliRunner().invoke(app, ["validate", str(plain), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["valid"] == ["toy-magnitude-s0"] and out["invalid"] == []


def test_runwriter_example_writes_the_same_run(written):
    _, plain, rw = written
    a, b = load_run(plain), load_run(rw)
    assert b.validate() == []
    for key in (
        "config",
        "layers",
        "mask_steps",
        "update_steps",
        "state_steps",
        "shadow_criteria",
        "total_steps",
        "summary",
    ):
        assert a.manifest[key] == b.manifest[key], key
    for step in a.mask_steps:
        for name in a.layer_names:
            np.testing.assert_array_equal(a.masks(step)[name], b.masks(step)[name])
    ua, ub = a.update(10), b.update(10)
    sa, sb = a.state(10), b.state(10)
    for name in a.layer_names:
        np.testing.assert_array_equal(ua.pruned[name], ub.pruned[name])
        np.testing.assert_array_equal(ua.grown[name], ub.grown[name])
        for c in a.shadow_criteria:
            np.testing.assert_array_equal(ua.shadow[c][name], ub.shadow[c][name])
        for kind in ("weight", "grad", "mask"):
            np.testing.assert_array_equal(getattr(sa, kind)[name], getattr(sb, kind)[name])
    assert a.metrics().equals(b.metrics())


def test_every_key_and_criterion_is_documented():
    text = _text()
    names = {
        "manifest key": schema.MANIFEST_KEYS,
        "config key": schema.CONFIG_KEYS,
        "summary key": schema.SUMMARY_KEYS,
        "metrics column": tuple(schema.METRICS_COLUMNS),
        "built-in criterion": CRITERIA,
        "status": schema.STATUSES,
        **{f"{key} value": choices for key, choices in schema.CONFIG_CHOICES.items()},
    }
    missing = [f"{what} `{n}`" for what, ns in names.items() for n in ns if f"`{n}`" not in text]
    assert not missing, f"docs/format.md does not mention: {', '.join(missing)}"
    for column, dtype in schema.METRICS_COLUMNS.items():
        assert re.search(rf"\| `{column}` \| {dtype} \|", text), (
            f"metrics column {column} must be documented as {dtype}"
        )
    assert f'"{schema.FORMAT}"' in text and f"`{schema.FORMAT_VERSION}`" in text


def test_documented_bounds_match_the_reader():
    text = _text()
    assert manifest.MAX_MANIFEST_BYTES % 2**20 == 0 and f"{manifest.MAX_MANIFEST_BYTES // 2**20} MiB" in text
    exp = manifest.MAX_NUMEL.bit_length() - 1
    assert manifest.MAX_NUMEL == 2**exp and f"2^{exp}" in text
    assert schema.MAX_STEP == 2**63 - 1 and "2^63 − 1" in text
    assert f"{schema.MAX_TEXT} characters, no control characters" in text and f"{schema.MAX_LIST} entries" in text
    assert f"{reader.METRIC_ROWS_PER_STEP} per step" in text and "at least 10^6, at most 2 × 10^7" in text
    assert (reader.METRIC_ROWS_FLOOR, reader.METRIC_ROWS_CAP) == (10**6, 2 * 10**7)
    assert (
        f"{reader.METRIC_ROW_BYTES} decoded bytes a row" in text
        and f"more than {schema.MAX_RUN_ID_BYTES} bytes" in text
    )
    assert schema.step_file(800) == "step-00000800.npz" and "step-00000800.npz" in text


def test_doc_stands_alone():
    """Every link of docs/format.md is an anchor of its own or a file of this repository that exists."""
    repo = DOC.parents[1].resolve()
    text = _text()
    anchors = {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)
    }
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("#"):
            assert target[1:] in anchors, f"docs/format.md links to a missing section {target}"
            continue
        assert "://" not in target, f"docs/format.md links outside the repository: {target}"
        path = (DOC.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(repo) and path.exists(), (
            f"docs/format.md links to {target}, not a file of the repository"
        )
