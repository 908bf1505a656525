"""The commands of ``fwa``, one module per family: :mod:`.runs` (ls, validate), :mod:`.structure` (jaccard,
never-removed, itop), :mod:`.metrics` (loss-gap, accuracy, update-period, cd-diagram) and :mod:`.report` (claims,
report), on the app and common options of :mod:`.common`; :mod:`.output` prints a result. Each command parses
its options, calls :mod:`fwanalysis.results` and prints what it returns. Imported by :mod:`fwanalysis.cli` only."""

from __future__ import annotations

import importlib

from .common import app

__all__ = ["FAMILIES", "app"]

#: the command families, imported (so registered on ``app``) in the order ``fwa --help`` lists their commands
FAMILIES = ("runs", "structure", "metrics", "report")
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
