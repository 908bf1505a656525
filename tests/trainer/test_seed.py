"""seed_everything asks torch for deterministic kernels without loading its compiler stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SEED_THEN_REPORT = """
from trainer.loop import seed_everything
seed_everything(0)
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
      "torch._inductor" in sys.modules)
"""


def fresh(code: str) -> list[str]:
    res = subprocess.run(
        [sys.executable, "-c", "import sys, torch\n" + code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_deterministic_warn_only_without_the_compiler_stack():
    assert fresh(SEED_THEN_REPORT) == ["True", "True", "False"]  # torch._inductor never loaded


def test_a_process_that_compiles_gets_inductor_deterministic_too():
    out = fresh("import torch._inductor.config as inductor\n" + SEED_THEN_REPORT + "print(inductor.deterministic)\n")
    assert out == ["True", "True", "True", "True"]
