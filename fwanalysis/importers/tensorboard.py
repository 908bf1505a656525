"""``fwa import tensorboard``: scalar series of TensorBoard event files as tidy metric rows.

Read with TensorBoard's own reader (``tensorboard.backend.event_processing.event_accumulator``), an
optional dependency (``pip install 'fwa[tensorboard]'``). Both kinds of scalar are read: ``add_scalar`` /
``tf.summary.scalar`` of TF1 (the ``scalars`` of the accumulator) and TF2's scalar tensors (one-element
``tensors``).
"""

from __future__ import annotations

from pathlib import Path

from .common import MissingDependency

__all__ = ["read_scalars"]


def read_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of every scalar under ``logdir``: the event files in it and in every
    folder below it that holds some, as TensorBoard shows them (each folder one of its "runs"), or one
    event file. A tag of a folder below is named ``<folder>/<tag>``, the folder relative to ``logdir``:
    Keras' ``train/epoch_loss`` and ``validation/epoch_loss``, ``SummaryWriter.add_scalars``'
    ``Loss_train/Loss``."""
    _reader()  # without tensorboard, say so before anything else
    logdir = Path(logdir)
    if logdir.is_file():
        return _read_events(logdir)
    if not logdir.is_dir():
        raise ValueError(f"{logdir}: no such directory or event file")
    folders = sorted({p.parent for p in logdir.rglob("*tfevents*") if p.is_file()})
    if not folders:
        raise ValueError(f"{logdir}: no events.out.tfevents.* file in this directory or below it")
    out: dict[str, list[tuple[int, float]]] = {}
    for folder in folders:
        prefix = "" if folder == logdir else folder.relative_to(logdir).as_posix() + "/"
        for tag, points in _read_events(folder).items():
            out[prefix + tag] = points
    return out


def _reader():
    """TensorBoard's event accumulator and tensor utilities (an optional dependency)."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.util import tensor_util
    except ImportError:
        raise MissingDependency("fwa import tensorboard needs the tensorboard package, which is not installed: "
                                "pip install 'fwa[tensorboard]' (or pip install tensorboard)") from None
    return ea, tensor_util


def _read_events(path: Path) -> dict[str, list[tuple[int, float]]]:
    """The scalars of one event file, or of the event files directly in one folder (not below it)."""
    ea, tensor_util = _reader()
    acc = ea.EventAccumulator(str(path), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    try:
        acc.Reload()
    except Exception as e:  # a damaged or foreign file: one line, not a traceback
        raise ValueError(f"{path}: cannot be read as TensorBoard events ({type(e).__name__}: {e})") from None
    tags = acc.Tags()
    out: dict[str, list[tuple[int, float]]] = {}
    for tag in tags.get("scalars", []):
        out[tag] = [(int(e.step), float(e.value)) for e in acc.Scalars(tag)]
    for tag in tags.get("tensors", []):
        if tag in out:
            continue
        points = []
        for e in acc.Tensors(tag):
            arr = tensor_util.make_ndarray(e.tensor_proto)
            if arr.size != 1 or arr.dtype.kind not in "fiub":
                points = None  # not a scalar series (histograms, text, ...)
                break
            points.append((int(e.step), float(arr.reshape(-1)[0])))
        if points:
            out[tag] = points
    return out
