"""``pip install .`` gives a working ``fwa`` without torch (pyproject.toml: torch is in the ``train`` extra).

Slow (about half a minute, most of it pip): a fresh virtual environment, a non-editable install of this
repository, then ``fwa validate`` and ``fwa jaccard`` on the synthetic study of tests/synthetic.py, whose
Jaccard is computed independently with numpy inside that environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sharedlib import build_once

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# Written by the torch-free environment's python: the synthetic study (through the installed fwanalysis,
# tests/ on the path for synthetic.py) and, by numpy alone, the layer-averaged Jaccard between what
# magnitude and snip remove at the first update, averaged over seeds.
STUDY = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from synthetic import write_study
    t = write_study(sys.argv[2], seeds=(0, 1), baselines=False)
    def j(a, b):
        return float(np.mean([np.logical_and(a[n], b[n]).sum() / np.logical_or(a[n], b[n]).sum() for n in a]))
    print(json.dumps(float(np.mean([j(t.first[(s, "magnitude")], t.first[(s, "snip")]) for s in (0, 1)]))))
""")


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)


def _install(root: Path) -> None:
    """A fresh venv in ``root/venv`` with this repository installed by a non-editable ``pip install`` of a copy
    of its sources."""
    r = run([sys.executable, "-m", "venv", root / "venv"])
    assert r.returncode == 0, r.stderr
    # a copy of what the package is built from, so that the build (build/, *.egg-info) never touches the checkout
    src = root / "src"
    for name in ("pyproject.toml", "README.md"):
        src.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    for pkg in ("fwanalysis", "trainer"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # non-editable, reusing pip's cache; --no-compile: byte-compiling every installed module was half the
    # install's time, and the commands below compile what they import when they import it
    r = run(
        [root / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", src], cwd=root, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(a folder of this worker for the tests' files, the bin/ of the no-torch venv). The venv is installed
    once for all xdist workers and only run from."""
    bin_ = build_once(tmp_path_factory, "no-torch-venv", _install) / "venv" / "bin"
    return tmp_path_factory.mktemp("no-torch"), bin_


def test_no_torch_in_the_analysis_install(venv):
    root, bin_ = venv
    r = run([bin_ / "python", "-c", "import torch"], cwd=root)
    assert r.returncode != 0 and "No module named 'torch'" in r.stderr
    r = run(
        [
            bin_ / "python",
            "-c",
            'import fwanalysis, fwanalysis.cli, fwanalysis.record, sys; assert "torch" not in sys.modules; '
            "print(fwanalysis.__file__)",
        ],
        cwd=root,
    )
    assert r.returncode == 0 and str(bin_.parent) in r.stdout, "the venv must use its own, installed copy"


def test_fwa_validate_and_jaccard_work_without_torch(venv):
    root, bin_ = venv
    study = root / "study"
    r = run([bin_ / "python", "-c", STUDY, ROOT / "tests", study], cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    want = json.loads(r.stdout)
    r = run([bin_ / "fwa", "validate", study, "--format", "json"], cwd=root)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["invalid"] == [] and len(out["valid"]) == 6  # 3 criteria x 2 seeds
    r = run([bin_ / "fwa", "jaccard", study, "--at", "first", "--format", "json"], cwd=root)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    i, k = got["criteria"].index("magnitude"), got["criteria"].index("snip")
    assert got["mean"][i][k] == pytest.approx(want)


def test_commands_needing_torch_say_so_in_one_line(venv):
    root, bin_ = venv
    r = run([bin_ / "fw-train", "run"], cwd=root)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:") and "PyTorch" in lines[0], r.stderr
    help_ = run([bin_ / "fwa", "import", "paper-code", "--help"], cwd=root)
    if help_.returncode != 0:  # `fwa import` not in this version
        return
    src = root / "paper-code"
    src.mkdir()
    (src / "jaccard-in-time-800.th").write_bytes(b"PK\x03\x04 not read without torch")
    args = [src, "--out", root / "imported", "--set", "criterion=magnitude", "model=mlp", "seed=0"]
    r = run([bin_ / "fwa", "import", "paper-code", *args], cwd=root)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode != 0 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "torch" in lines[0].lower()
