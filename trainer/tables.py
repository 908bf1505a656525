"""The paper's Tables 1-4, generated from what fwa actually runs (``fw-train tables``).

    from trainer.tables import TABLES, write_tables
    write_tables("reports")  # table01-criteria.{csv,md}, table02-models..., table03-dst-settings...,
                             # table04-datasets...

Table 1 lists the criteria fwa trains with their scores and the methods of the literature that use them
(the paper's Table 1); Table 2 the model registry with parameter counts; Table 3 the DST settings of every
spec's ``paper`` profile, computed from its expansion; Table 4 the data sets and their splits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from fwanalysis.artifacts.owned import claim

__all__ = ["TABLES", "criteria_table", "models_table", "dst_settings_table", "datasets_table", "write_tables"]

SPECS = Path(__file__).resolve().parent.parent / "specs"


def criteria_table() -> pd.DataFrame:
    """Table 1 (the paper's): every criterion of the criterion table with its score (the lowest are removed;
    docs/trainer.md), the DST method of the literature that uses it with random or gradient growth (none: a gap
    the paper fills), and whether the paper compares it."""
    from fwanalysis.criteria import TABLE

    return pd.DataFrame(
        {
            "criterion": [c.name for c in TABLE],
            "score (lowest removed)": [c.formula for c in TABLE],
            "with random growth": [c.random_growth for c in TABLE],
            "with gradient growth": [c.gradient_growth for c in TABLE],
            "compared in the paper": [c.paper for c in TABLE],
        }
    )


def models_table() -> pd.DataFrame:
    """Table 2: the model registry with dense and masked parameter counts on each model's reference input."""
    from .models import MODELS, build_model, masked_parameter_names

    rows = []
    for name, spec in MODELS.items():
        model = build_model(name, in_shape=spec.reference_input, num_outputs=spec.reference_outputs)
        params = dict(model.named_parameters())
        rows.append(
            {
                "model": name,
                "description": spec.description,
                "reference input": "x".join(map(str, spec.reference_input)),
                "outputs": spec.reference_outputs,
                "paper data set": spec.reference_dataset,
                "parameters (dense)": sum(p.numel() for p in params.values()),
                "masked weights": sum(params[n].numel() for n in masked_parameter_names(model)),
                "init": spec.default_init,
                "lr": spec.default_lr,
                "weight decay": spec.default_weight_decay,
                "batch": spec.paper_batch_size,
                "epochs": spec.paper_epochs,
            }
        )
    return pd.DataFrame(rows)


def _values(xs) -> str:
    vals = sorted({x for x in xs if x is not None}, key=lambda v: (str(type(v)), v))
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals) or "–"


def dst_settings_table(specs_dir: str | Path = SPECS) -> pd.DataFrame:
    """Table 3: per spec, the DST settings its ``paper`` profile trains (from the expanded runs)."""
    from .sweep import expand, load_spec

    rows = []
    for path in sorted(Path(specs_dir).glob("*.toml")):
        spec = load_spec(path)
        if "paper" not in spec.profiles:
            continue
        runs = expand(spec, profile="paper")
        dst = [r.cfg for r in runs if r.cfg.method == "dst"]
        cfgs = [r.cfg for r in runs]
        rows.append(
            {
                "spec": spec.name,
                "figures": spec.description,
                "runs": len(runs),
                "setups": _values(f"{c.model}/{c.dataset}" for c in cfgs),
                "methods": _values(c.method for c in cfgs),
                "criteria": _values(c.criterion for c in dst),
                "growth": _values(c.growth for c in dst),
                "density": _values(c.density for c in cfgs),
                "prune fraction ρ": _values(c.prune_fraction for c in dst),
                "schedule": _values(c.prune_schedule for c in dst),
                "update period Δt": _values(c.update_period for c in dst),
                "update rule": _values(
                    f"regrown {c.regrown_weights}, growth {c.growth_count}, ρ end {c.prune_fraction_end:g}, "
                    f"counts {c.prune_rounding}"
                    for c in dst
                ),
                "epochs": _values(c.epochs for c in cfgs),
                "batch": _values(c.batch_size for c in cfgs),
                "seeds": len({c.seed for c in cfgs}),
            }
        )
    return pd.DataFrame(rows)


def datasets_table() -> pd.DataFrame:
    """Table 4: the data sets, their inputs and classes, and the split each loader makes (the embedded one
    loaded and counted)."""
    from .data import DATASETS, load_dataset

    rows = []
    for name, spec in DATASETS.items():
        row = {
            "data set": name,
            "input": "x".join(map(str, spec.in_shape)),
            "classes": spec.num_classes,
            "task": spec.task,
            "split": spec.description,
            "files": spec.expected,
        }
        if spec.embedded:
            d = load_dataset(name, seed=0)
            row["split"] += f" (seed 0: {len(d.train[1])} / {len(d.val[1])} / {len(d.test[1])})"
        rows.append(row)
    return pd.DataFrame(rows)


TABLES: dict[str, Callable[[], pd.DataFrame]] = {
    "table01-criteria": criteria_table,
    "table02-models": models_table,
    "table03-dst-settings": dst_settings_table,
    "table04-datasets": datasets_table,
}


def _markdown(df: pd.DataFrame) -> str:
    cell = lambda v: (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_tables(
    out: str | Path,
    *,
    only: tuple[str, ...] = (),
    force: bool = False,
    replacing: Callable[[list[str]], None] | None = None,
) -> list[Path]:
    """Write every table as ``<id>.csv`` and ``<id>.md`` into ``out`` (atomically); return the paths.

    Like ``fwa report``, which shares the folder, it replaces only files fwa wrote there, unchanged since
    (``fwanalysis.artifacts.owned``): any other target refuses it before anything is written
    (``NotFwaFiles``, a ``ValueError``), unless ``force``, which replaces them after telling ``replacing``
    their names."""
    tids = [tid for tid in TABLES if not only or tid in only]
    folder = claim(out, [f"{tid}{suffix}" for tid in tids for suffix in (".csv", ".md")], force=force)
    if folder.replaced and replacing:
        replacing(folder.replaced)
    written = []
    for tid in tids:
        df = TABLES[tid]()
        for suffix, data in ((".csv", df.to_csv(index=False, lineterminator="\n")), (".md", _markdown(df))):
            written.append(folder.write(f"{tid}{suffix}", data.encode()))
    return written
