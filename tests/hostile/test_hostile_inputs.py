"""Issue 18, groups 3-6 (the parts outside the importers of metrics, the sweep and the report): shapes that
differ are errors, bombs are refused before work, every OS error and overflow is one `error:` line, and output
cannot be forged. Each input is the issue's own."""

from __future__ import annotations

import errno
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from clilib import fwa
from hostilelib import one_error
from synthetic import write_study

from fwanalysis.artifacts import find_runs, load_run


@pytest.fixture
def study(tmp_path):
    write_study(tmp_path / "study", seeds=(0, 1), crits=("magnitude", "snip"), baselines=False)
    return tmp_path / "study"


def rewrite_manifest(run_dir: Path, **changes) -> None:
    m = json.loads((run_dir / "run.json").read_text())
    for key, value in changes.items():
        if key.startswith("config."):
            m["config"][key[7:]] = value
        else:
            m[key] = value
    (run_dir / "run.json").write_text(json.dumps(m))


# -- group 3: a shape that differs is an error, not a reshape ---------------------------------------------
def test_paper_code_transposed_shadow_mask_is_an_error(tmp_path):
    """A pruner's mask of the right size but transposed was reshaped into place (sizes compared only)."""
    torch = pytest.importorskip("torch")
    src = tmp_path / "save"
    src.mkdir()
    before = torch.ones(4, 6)
    after = before.clone()
    after[0, :2] = 0
    for step in (100, 200):
        other = {"magnitude": {"w": after}, "SNIPFixed": {"w": after.T.contiguous() if step == 200 else after}}
        torch.save({"other_masks": other, "origs": {"w": before}}, src / f"jaccard-in-time-{step}.th")
    r = fwa("import", "paper-code", src, "--out", tmp_path / "s", "--set", "criterion=magnitude")
    one_error(r, "jaccard-in-time-200.th", "SNIPFixed", "[6, 4]", "[4, 6]")
    assert not list((tmp_path / "s").rglob("run.json"))
    r = fwa("import", "paper-code", src, "--out", tmp_path / "s", "--set", "criterion=magnitude", "--skip-bad")
    assert r.exit_code == 0, r.output
    assert "1 of 2 recordings skipped" in r.stderr
    (run,) = find_runs(tmp_path / "s")
    assert run.update_steps == [100] and run.manifest["imported_from"]["skipped"]["recordings"] == 1


def test_recorder_mask_of_another_shape_is_refused(tmp_path):
    """`masks={'0.weight': ones(3, 3)}` for a 16x8 layer was recorded as a complete, valid run."""
    torch = pytest.importorskip("torch")
    from fwanalysis.record import Recorder

    model = torch.nn.Sequential(torch.nn.Linear(8, 16))
    with pytest.raises(ValueError, match=r"shape \[3, 3\], its parameter \[16, 8\]"):
        Recorder(model, tmp_path, masks={"0.weight": torch.ones(3, 3)}, criterion="magnitude")
    assert not list(tmp_path.rglob("run.json"))


# -- group 4: bounds before work ------------------------------------------------------------------------
def metrics_bomb(rows_per_group: int = 10**6, groups: int = 100) -> bytes:
    """A parquet file of a few dozen KB that decodes to ``rows_per_group * groups`` rows (10^8): one row group
    written once, listed ``groups`` times in the footer (the issue's 1.9 MB file decoded to 10^8 rows too)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = rows_per_group
    table = pa.table(
        {
            "step": np.zeros(n, np.int64),
            "epoch": np.zeros(n),
            "split": pa.array(["train"] * n),
            "name": pa.array(["loss"] * n),
            "value": np.zeros(n),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=n)
    data = buf.getvalue()
    footer = struct.unpack("<I", data[-8:-4])[0]
    meta, one = pq.read_metadata(io.BytesIO(data)), pq.read_metadata(io.BytesIO(data))
    for _ in range(groups - 1):
        meta.append_row_groups(one)
    out = io.BytesIO()
    meta.write_metadata_file(out)
    return data[: -(footer + 8)] + out.getvalue()[4:]


def test_metrics_that_decode_to_1e8_rows_are_refused_from_the_metadata(study):
    run = find_runs(study)[0]
    (run.path / "metrics.parquet").write_bytes(metrics_bomb())
    assert (run.path / "metrics.parquet").stat().st_size < 2 * 2**20
    r = fwa("validate", study)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "holds 100000000 rows" in r.stderr and run.run_id in r.stderr


def test_stride_zero_tensor_is_refused_before_it_is_allocated(tmp_path):
    """A 4 KB checkpoint whose mask is a broadcast view claiming 10^12 values (931 GiB as float64)."""
    torch = pytest.importorskip("torch")
    huge = torch.ones(1, dtype=torch.float64).expand(10**6, 10**6)
    for step in (0, 100):
        torch.save({"fc.weight_orig": huge, "fc.weight_mask": huge}, tmp_path / f"ckpt-{step}.pt")
    assert (tmp_path / "ckpt-0.pt").stat().st_size < 4096
    r = fwa("import", "torch-prune", tmp_path / "ckpt-0.pt", tmp_path / "ckpt-100.pt", "--out", tmp_path / "s")
    one_error(r, "ckpt-0.pt", "broadcast view")


def test_a_100000_character_model_name_is_refused_at_once(study, tmp_path):
    run = find_runs(study)[0]
    rewrite_manifest(run.path, **{"config.model": "m" * 100_000})
    one_error(fwa("ls", study), "config.model", "100000 characters")
    r = fwa("report", study, "--out", tmp_path / "rep", "--only", "fig06")
    one_error(r, "config.model", "more than 256")


# -- group 5: one error line for every OS error and numeric overflow ---------------------------------------
def test_bfloat16_prune_masks_are_recorded(tmp_path):
    """`prune.l1_unstructured` on a bfloat16 model gave a traceback (numpy has no bfloat16)."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils import prune

    from fwanalysis.record import Recorder

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16)).to(torch.bfloat16)
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    with Recorder(model, tmp_path, criterion="magnitude", seed=0) as rec:
        prune.l1_unstructured(model[0], "weight", amount=0.75)
        rec.step(1)
    run = load_run(rec.path)
    assert run.status == "complete" and run.update_steps == [1] and run.layers[0].density == pytest.approx(0.5)


@pytest.mark.filterwarnings(
    "ignore:.*quantize|TypedStorage is deprecated:UserWarning"
)  # torch's own, on quantized tensors
@pytest.mark.parametrize("kind", ["bfloat16", "float8", "quantized", "sparse", "meta"])
def test_masks_of_any_tensor_kind_import_or_give_one_line(tmp_path, kind):
    torch = pytest.importorskip("torch")
    base = torch.zeros(4, 4)
    base[:2] = 1
    mask = {
        "bfloat16": lambda: base.to(torch.bfloat16),
        "float8": lambda: base.to(torch.float8_e4m3fn),
        "quantized": lambda: torch.quantize_per_tensor(base, 1.0, 0, torch.quint8),
        "sparse": lambda: base.to_sparse(),
        "meta": lambda: base.to("meta"),
    }[kind]()
    for step in (0, 100):
        torch.save({"fc.weight_orig": torch.randn(4, 4), "fc.weight_mask": mask}, tmp_path / f"ckpt-{step}.pt")
    r = fwa(
        "import",
        "torch-prune",
        tmp_path / "ckpt-0.pt",
        tmp_path / "ckpt-100.pt",
        "--out",
        tmp_path / "s",
        "--set",
        "density=0.5",
    )
    if kind == "meta":
        one_error(r, "meta tensor")
        return
    assert r.exit_code == 0, r.output
    (run,) = find_runs(tmp_path / "s")
    assert run.layers[0].density == 0.5


def test_steps_above_int64_from_file_names_are_one_line(tmp_path):
    torch = pytest.importorskip("torch")
    sd = {"fc.weight_orig": torch.randn(2, 2), "fc.weight_mask": torch.ones(2, 2)}
    names = ("ckpt-0.pt", "ckpt-99999999999999999999.pt")
    for name in names:
        torch.save(sd, tmp_path / name)
    r = fwa("import", "torch-prune", *(tmp_path / n for n in names), "--out", tmp_path / "s")
    one_error(r, "larger than 2^63 - 1")
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").rglob("run.json"))


def test_a_step_above_int64_in_run_json_is_invalid_not_a_crash(study):
    run = find_runs(study)[0]
    rewrite_manifest(run.path, update_steps=[10, 2**63], total_steps=2**63)
    r = fwa("validate", study)
    assert r.exit_code == 1 and "Traceback" not in r.output and "2^63 - 1" in r.stderr
    one_error(fwa("itop", study), "2^63 - 1")


@pytest.mark.parametrize("option", ["--config", "--set"])
def test_values_nested_2000_levels_are_one_line(tmp_path, study, option):
    deep = "[" * 2000 + "]" * 2000
    if option == "--config":
        r = fwa("ls", study, "--config", f"a={deep}")
        assert r.exit_code == 2 and "nested too deeply" in r.output and "Traceback" not in r.output
    else:
        (tmp_path / "good.csv").write_text("_step,train/loss\n0,1.0\n")
        r = fwa("import", "wandb-csv", tmp_path / "good.csv", "--out", tmp_path / "s", "--set", f"model={deep}")
        one_error(r, "nested too deeply")


def plot_targets(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir.png").mkdir()
    return {
        "a directory": tmp_path / "a-dir.png",
        "under a file": tmp_path / "a-file" / "out.png",
        "a name over 255 bytes": tmp_path / ("x" * 300 + ".png"),
    }


@pytest.mark.parametrize("where", ["a directory", "under a file", "a name over 255 bytes"])
def test_plot_that_cannot_be_written_is_one_line(study, tmp_path, where):
    target = plot_targets(tmp_path)[where]
    one_error(fwa("jaccard", study, "--plot", target))


def test_plot_and_import_on_a_read_only_file_system_are_one_line(study, tmp_path, tmpfs):
    ro = tmpfs.bind_ro(tmp_path)
    one_error(fwa("jaccard", study, "--plot", ro / "j.png"), "read-only")
    (tmp_path / "good.csv").write_text("_step,train/loss\n0,1.0\n")
    one_error(fwa("import", "wandb-csv", ro / "good.csv", "--out", ro / "s", "--set", "model=m"), "read-only")


def test_import_onto_a_full_file_system_is_one_line_and_leaves_no_complete_run(tmp_path, tmpfs):
    full = tmpfs.mount("64k")
    (tmp_path / "big.csv").write_text("_step,train/loss\n" + "".join(f"{i},{1 / (i + 1)}\n" for i in range(20000)))
    r = fwa("import", "wandb-csv", tmp_path / "big.csv", "--out", full / "s", "--set", "model=m")
    one_error(r, "No space left on device")
    assert not [
        r for r in find_runs(full / "s", include_incomplete=True, on_bad=lambda e: None) if r.status == "complete"
    ]


# -- group 6: output that cannot be forged --------------------------------------------------------------------
def test_a_run_id_holding_a_newline_cannot_forge_an_error_line(study):
    run = find_runs(study)[0]
    rewrite_manifest(run.path, run_id="x\nerror: all runs deleted")
    r = fwa("validate", study)
    assert r.exit_code == 1
    assert not [line for line in r.output.splitlines() if line.startswith("error: all runs deleted")], r.output
    assert "\\n" in r.stderr  # the newline shown escaped


def test_ls_csv_quotes_a_formula(study):
    run = find_runs(study)[0]
    rewrite_manifest(run.path, **{"config.model": '=HYPERLINK("http://evil.example","x")'})
    r = fwa("ls", study, "--format", "csv")
    assert r.exit_code == 0, r.output
    cells = [line for line in r.stdout.splitlines() if "HYPERLINK" in line]
    assert len(cells) == 1 and ",\"'=HYPERLINK(" in cells[0] and ",=HYPERLINK" not in cells[0]


def test_a_run_id_in_run_json_never_decides_a_path(study, tmp_path):
    """`fwa import wandb-csv --run RUN` with run_id "../../x" in RUN's run.json made directories outside the study."""
    run = find_runs(study)[0]
    rewrite_manifest(run.path, run_id="../../escaped/x")
    (tmp_path / "good.csv").write_text("_step,val/acc\n0,0.5\n1,0.6\n")
    r = fwa("import", "wandb-csv", tmp_path / "good.csv", "--run", run.path)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "escaped").exists() and not [p for p in tmp_path.rglob("*escaped*")]
    assert sorted(p.name for p in (study / ".locks").iterdir()) == []


def test_errors_name_the_file_system_problem():
    """``error_text`` (every fwa command's error line) for the OS errors a command can meet."""
    from fwanalysis.console import error_text, printable

    assert (
        error_text(OSError(errno.ENOSPC, "No space left on device", "reports/fig01.png"))
        == "reports/fig01.png: No space left on device"
    )
    assert "read-only" in error_text(OSError(errno.EROFS, "Read-only file system", "r/x"))
    assert error_text(OverflowError("int too large")).startswith("a number is too large")
    assert printable("a\nb\x1b[2J\u202e") == "a\\nb\\x1b[2J\\u202e"
