"""``fwa``: analyse DST runs (docs/cli.md). Parses, calls the library, prints or saves; no logic of its own.

fwa ls artifacts/
fwa validate artifacts/
fwa jaccard --at first artifacts/quick --plot jaccard.png
fwa cd-diagram --density-max 0.2 --format json

The commands live in :mod:`fwanalysis.commands`, one module per family (registered here in the order
``fwa --help`` lists them); what they compute and show comes from :mod:`fwanalysis.results`.
"""

from __future__ import annotations

import gc
import os

from .commands import app  # every command family registered on it, in order
from .importers.cli import app as import_app  # the sub-app imports neither torch nor tensorboard

__all__ = ["app", "main"]

app.add_typer(
    import_app,
    name="import",
    help="Convert runs of other tools into fwa's run format: paper-code, torch-prune, tensorboard, wandb-csv "
    "(docs/import.md).",
)


#: the cyclic garbage collector's first threshold in the command line (Python's default: 700 allocations). A
#: command holds tens of thousands of runs' manifests and keys; collecting every 700 new objects cost 10% of
#: `fwa accuracy` on 70,000 runs (benchmarks/bench_scale.py). Cycles are still collected, only less often.
GC_THRESHOLD = (50_000, 20, 100)


def main():
    # the command line only writes files: never open a window (a library import leaves the backend alone)
    os.environ.setdefault("MPLBACKEND", "Agg")
    gc.set_threshold(*GC_THRESHOLD)
    from fwanalysis.artifacts import find

    find.FREEZE_LOADED = True  # a command ends soon after: what it loaded needs no more collecting
    app()


if __name__ == "__main__":
    main()
