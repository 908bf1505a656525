"""Importers: runs of other tools converted into run format v1 (docs/import.md), for ``fwa import``.

One module per kind of source: :mod:`.paper_code` (the authors' ``jaccard-in-time-*.th`` files and
``results.npy``), :mod:`.torch_prune` (checkpoints of a model pruned with ``torch.nn.utils.prune``),
:mod:`.tensorboard` (scalar event files) and :mod:`.wandb_csv` (a W&B run history exported as CSV);
:mod:`.common` holds what they share (``--set`` and ``--map`` parsing, writing metrics into a run).
Every run is written through :class:`fwanalysis.artifacts.RunWriter` or, for metrics added to an existing
run, with the same atomic writes. torch is imported only inside the two importers that read torch files,
when they run; importing this package never imports it.
"""
