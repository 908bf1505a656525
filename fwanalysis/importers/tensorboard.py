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
    """``{tag: [(step, value), ...]}`` of every scalar in the event files of ``logdir`` (a directory holding
    ``events.out.tfevents.*`` files, or one such file). Subdirectories are not read."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.util import tensor_util
    except ImportError:
        raise MissingDependency("fwa import tensorboard needs the tensorboard package, which is not installed: "
                                "pip install 'fwa[tensorboard]' (or pip install tensorboard)") from None
    logdir = Path(logdir)
    if logdir.is_dir():
        if not any(p.is_file() and "tfevents" in p.name for p in logdir.iterdir()):
            subs = sorted(str(p.parent) for p in logdir.rglob("*tfevents*"))[:3]
            hint = f" (subdirectories that have some: {', '.join(subs)})" if subs else ""
            raise ValueError(f"{logdir}: no events.out.tfevents.* file in this directory{hint}")
    elif not logdir.is_file():
        raise ValueError(f"{logdir}: no such directory or event file")
    acc = ea.EventAccumulator(str(logdir), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    try:
        acc.Reload()
    except Exception as e:  # a damaged or foreign file: one line, not a traceback
        raise ValueError(f"{logdir}: cannot be read as TensorBoard events ({type(e).__name__}: {e})") from None
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
