"""What a sweep spec may cost before it is expanded (docs/sweeps.md, "How big a spec may be"): the spec file
is a regular UTF-8 file of at most MAX_SPEC_BYTES, and its runs are counted (count_runs) before any is
built, a spec of more than max_runs refused with one line; the run-id collision check stays as a guard."""

from __future__ import annotations

import os
import textwrap

import pytest

from trainer import sweep
from trainer.sweep import MAX_RUNS, MAX_SPEC_BYTES, SpecError, count_runs, expand, load_spec

SETUPS = """
name = "counted"
[base]
seed = [0, 1, 2]
shadow = "none"
epochs = 1
[[grid]]
method = "dst"
criterion = ["magnitude", "snip"]
density = [0.05, 0.1]
[[grid]]
method = "dense"
density = [0.05, 0.1, 0.2, 0.3]
[profiles.quick]
setups = [
  { model = "mlp-small", dataset = "digits" },
  { model = "mlp-small", dataset = "digits", lr = [0.05, 0.01] },
]
"""


def write(tmp_path, text: str, name: str = "spec.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_count_is_the_runs_built_before_deduplication(tmp_path):
    spec = load_spec(write(tmp_path, SETUPS))
    total, lengths = count_runs(spec, "quick")
    # per block, per setup: dst 3 x 2 x 2 (x 2 lrs in setup 2), dense 3 x 4 (x 2 lrs)
    assert total == (12 + 24) + (12 + 24)
    assert total == sum(1 for merged in sweep._blocks(spec, "quick") for _ in sweep._combinations(merged))
    assert lengths == {"seed": 3, "criterion": 2, "density": 4, "lr": 2}
    runs = expand(spec, profile="quick", out=str(tmp_path / "out"))
    assert len(runs) == 36 + 3 + 6  # the dense runs of every density are one run per seed (and lr)
    with pytest.raises(SpecError, match="unknown profile 'paper'"):
        count_runs(spec, "paper")


def test_expand_refuses_more_runs_than_max_runs_with_one_line(tmp_path):
    spec = load_spec(write(tmp_path, SETUPS))
    assert len(expand(spec, profile="quick", max_runs=72)) == 45  # the limit is on the count before de-duplication
    with pytest.raises(SpecError) as e:
        expand(spec, profile="quick", max_runs=71)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(
        f"{spec.path}: profile quick expands to 72 runs, more than the 71 allowed"
    )
    assert "largest axes: density (4 values), seed (3 values), criterion (2 values)" in msg and "--max-runs N" in msg
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SpecError, match="--max-runs .* must be a whole number of at least 1"):
            expand(spec, profile="quick", max_runs=bad)
    assert MAX_RUNS == 100_000


def test_counting_a_huge_spec_builds_nothing(tmp_path, monkeypatch):
    axes = {"seed": range(1000), "lr": range(1, 1001), "batch_size": range(1, 1001), "epochs": range(1, 1001)}
    body = "\n".join(f"{k} = {list(v)}" for k, v in axes.items())
    spec = load_spec(write(tmp_path, f'name = "huge"\n[base]\n{body}\n[profiles.quick]\n'))
    monkeypatch.setattr(sweep, "normalise", lambda cfg: pytest.fail("a run was built"))
    assert count_runs(spec, "quick")[0] == 10**12
    with pytest.raises(SpecError, match="expands to 1,000,000,000,000 runs"):
        expand(spec, profile="quick")


def test_two_runs_sharing_an_id_are_still_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "run_id_for", lambda ident, digits=16: "same-" + "0" * digits)
    spec = load_spec(write(tmp_path, SETUPS))
    with pytest.raises(SpecError, match="share run id same-0000000000000000"):
        expand(spec, profile="quick")


def test_a_spec_that_is_no_regular_file_or_too_big_is_one_line(tmp_path):
    os.mkdir(tmp_path / "dir.toml")
    with pytest.raises(SpecError, match=r"dir.toml: not a regular file \(a directory\)"):
        load_spec(tmp_path / "dir.toml")
    if os.path.exists("/dev/null"):
        with pytest.raises(SpecError, match=r"/dev/null: not a regular file \(a character device\)"):
            load_spec("/dev/null")
    big = write(tmp_path, 'name = "big"\n[profiles.quick]\n' + "# padding\n" * (MAX_SPEC_BYTES // 10), "big.toml")
    with pytest.raises(SpecError, match=rf"big.toml: \d+ bytes, more than the {MAX_SPEC_BYTES} bytes .*at most 1 MiB"):
        load_spec(big)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "x"\n# \xff\xfe\n')
    with pytest.raises(SpecError, match=r"bad.toml: not UTF-8 text \(byte 0xff at offset 13\)"):
        load_spec(bad)
