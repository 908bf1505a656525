"""What the sweep tests share (tests/trainer, tests/faults, tests/slurm): a tiny spec on the embedded data,
the fw-train executable, and the process and lock checks that read /proc and the study's .locks."""

from __future__ import annotations

import json
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
    p.write_text(textwrap.dedent(f"""
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
    """))
    return p


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
