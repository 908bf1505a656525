"""What the sweep tests share (tests/trainer, tests/faults, tests/slurm): a tiny spec on the embedded data,
the fw-train executable and a sweep started with it, the count of runs it trained, and the process and
lock checks that read /proc and the study's .locks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
FW_TRAIN, FWA = str(BIN / "fw-train"), str(BIN / "fwa")
MODEL = "mlp-small"  # the smallest model; digits, 1 epoch: a run trains in about a second


def spec_file(tmp_path: Path, seeds, *, epochs: int = 1, name: str = "conc") -> Path:
    """``<tmp_path>/<name>.toml``: one magnitude DST run of MODEL on digits per seed, profile quick."""
    p = Path(tmp_path) / f"{name}.toml"
    p.write_text(
        textwrap.dedent(f"""
        name = "{name}"
        [base]
        model = "{MODEL}"
        dataset = "digits"
        epochs = {epochs}
        method = "dst"
        criterion = "magnitude"
        density = 0.2
        shadow = "none"
        seed = {list(seeds)}
        [profiles.quick]
    """)
    )
    return p


def sweep_env() -> dict:
    """The environment of a sweep in a subprocess: one thread per run (tiny runs: fastest, and it spares
    the test machine)."""
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def start_sweep(spec: Path, study: Path, log: Path, *, jobs: int) -> subprocess.Popen:
    """``fw-train sweep SPEC --out STUDY --jobs JOBS`` in the background, its output (stdout and stderr) in ``log``."""
    with open(log, "w") as f:
        return subprocess.Popen(
            [FW_TRAIN, "sweep", str(spec), "--out", str(study), "--jobs", str(jobs)],
            stdout=f,
            stderr=subprocess.STDOUT,
            env=sweep_env(),
        )


def trained_here(text: str, n: int) -> int:
    """How many of the ``n`` runs the sweep whose output is ``text`` trained itself (its one summary line)."""
    m = re.findall(rf"^trained (\d+) of {n} runs here", text, re.M)
    assert len(m) == 1, text
    return int(m[0])


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                text = (d / "stat").read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                out.add(int(d.name))
    return out


def gone(pid: int) -> bool:
    """Exited (a zombie not yet reaped by whoever adopted it counts as exited)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return text[text.rindex(")") + 2] in "ZXx"


def lock_pids(study: Path) -> set[int]:
    """The pids named by the run locks of MODEL's runs in ``study``."""
    pids = set()
    for f in (Path(study) / MODEL / ".locks").glob("*.lock"):
        try:
            pids.add(json.loads(f.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            pass  # released while being read
    return pids


def wait_for(cond, timeout: float, what: str, *, every: float = 0.02):
    """Poll ``cond()`` until it is truthy (returned) or ``timeout`` seconds pass (the test fails naming ``what``)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
