"""The commands of ``fwa``, one module per family: :mod:`.runs` (ls, validate), :mod:`.structure` (jaccard,
never-removed, itop), :mod:`.metrics` (loss-gap, accuracy, update-period, cd-diagram) and :mod:`.report` (claims,
report), on the app and common options of :mod:`.common`; :mod:`.output` prints a result. Each command parses
its options, calls :mod:`fwanalysis.results` and prints what it returns. Imported by :mod:`fwanalysis.cli` only."""
