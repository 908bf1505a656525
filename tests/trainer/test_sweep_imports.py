"""The parent process of a sweep (the one that plans the runs, shows the plan, feeds the local pool or submits
to Slurm) never imports torch: it reads the model registry's table only (trainer.models.registry), and the
pool workers and Slurm tasks import torch themselves when they train. Each check runs in a fresh interpreter,
since this one has torch loaded already."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
name = "noimport"
[base]
model = ["mlp-small", "cnn-small"]
dataset = "digits"
method = "dense"
epochs = 1
seed = [0, 1]
[profiles.quick]
"""


def _without_torch(code: str) -> None:
    """Run ``code`` in a fresh interpreter and require that it ends without torch in ``sys.modules``."""
    code = textwrap.dedent(code) + textwrap.dedent(
        """
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
        assert not loaded, f"torch imported: {loaded[:5]}"
        """
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_importing_the_sweep_and_the_cli_never_imports_torch():
    _without_torch(
        """
        import sys
        import trainer.cli, trainer.sweep
        from trainer.models import MODELS, ModelSpec
        assert MODELS["mlp-small"].default_lr == 0.01 and isinstance(MODELS["vgg16"], ModelSpec)
        """
    )


def test_planning_a_sweep_never_imports_torch(tmp_path):
    spec = tmp_path / "noimport.toml"
    spec.write_text(SPEC)
    _without_torch(
        f"""
        import sys
        from trainer.sweep import expand, listing, load_spec
        runs = expand(load_spec({str(spec)!r}), profile="quick", out={str(tmp_path / "out")!r})
        assert len(runs) == 4 and not any(r["done"] for r in listing(runs)["runs"])
        from trainer.cli import main
        sys.argv = ["fw-train", "sweep", {str(spec)!r}, "--out", {str(tmp_path / "out")!r}, "--dry-run"]
        try:
            main()
        except SystemExit as e:
            assert not e.code, e.code
        """
    )


def test_a_local_pool_sweep_never_imports_torch_in_its_parent(tmp_path):
    spec = tmp_path / "noimport.toml"
    spec.write_text(SPEC.replace('["mlp-small", "cnn-small"]', '"mlp-small"'))
    out = tmp_path / "out"
    _without_torch(
        f"""
        import sys
        from trainer.cli import main
        sys.argv = ["fw-train", "sweep", {str(spec)!r}, "--out", {str(out)!r}, "--jobs", "2"]
        try:
            main()
        except SystemExit as e:
            assert not e.code, e.code
        """
    )
    assert len(list((out / "mlp-small").glob("*/run.json"))) == 2
