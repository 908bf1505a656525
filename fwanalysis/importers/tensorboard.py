"""``fwa import tensorboard``: scalar series of TensorBoard event files as tidy metric rows.

Event files are read by fwa itself, record by record, all or nothing: each is opened through
:func:`~fwanalysis.artifacts.io.open_regular` (a FIFO, socket or device named like an event file is
refused, never waited on; a file above :data:`MAX_EVENT_FILE_BYTES` is refused before it is read), and
its TFRecord framing is checked as TensorFlow checks it::

    uint64 length | uint32 masked_crc32c(length) | data (an Event protobuf) | uint32 masked_crc32c(data)

A bad checksum, a truncated record or an undecodable Event is an error naming the file and the record,
unless ``skip_bad``: then a record with a bad data checksum or an undecodable Event is skipped alone, and
a broken frame (a bad length checksum, a truncated record: the framing cannot resync after it) loses the
rest of its file; both are counted. Both kinds of scalar are read:
``add_scalar`` / ``tf.summary.scalar`` of TF1 (``simple_value``) and TF2's one-element scalar tensors.
The Event protobuf and tensor decoding come from the ``tensorboard`` package, an optional dependency
(``pip install 'fwa[tensorboard]'``).
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fwanalysis.artifacts.io import NotRegularFile, open_regular

from .common import MissingDependency

__all__ = ["read_scalars", "masked_crc32c", "skipped_note", "MAX_EVENT_FILE_BYTES", "MAX_RECORD_BYTES"]

#: An event file larger than this is refused before it is read (docs/import.md).
MAX_EVENT_FILE_BYTES = 2 * 2**30
#: A record whose length field says more than this is refused (scalar events take tens of bytes).
MAX_RECORD_BYTES = 256 * 2**20

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_FRAME = _LENGTH.size + 2 * _CRC.size  # the bytes of a record besides its data

Series = dict[str, list[tuple[int, float]]]


# -- checksums ----------------------------------------------------------------------------------------------
def _crc_table() -> tuple[int, ...]:
    """The byte table of CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _crc_table()


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum of ``data``: CRC-32C, rotated right by 15 bits plus 0xa282ead8 (mod 2**32)."""
    crc, table = 0xFFFFFFFF, _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# -- reading ------------------------------------------------------------------------------------------------
class _Skips:
    """What ``skip_bad`` left out: records (with their bytes and the bytes after a broken frame) and files."""

    def __init__(self, skip_bad: bool):
        self.skip_bad = skip_bad
        self.counts: Counter = Counter(bad_records=0, bytes=0, files=0)

    def bad(self, message: str, *, records: int = 0, nbytes: int = 0, files: int = 0) -> None:
        """Raise ``message`` as the one error line, or (``skip_bad``) count what it loses."""
        if not self.skip_bad:
            raise ValueError(message)
        self.counts.update(bad_records=records, bytes=nbytes, files=files)


def read_scalars(logdir: Path, *, skip_bad: bool = False) -> tuple[Series, dict[str, int]]:
    """``({tag: [(step, value), ...]}, skipped)`` of every scalar under ``logdir``: the event files in it and in
    every folder below it that holds some, as TensorBoard shows them (each folder one of its "runs"), or one
    event file. A tag of a folder below is named ``<folder>/<tag>``, the folder relative to ``logdir``:
    Keras' ``train/epoch_loss`` and ``validation/epoch_loss``, ``SummaryWriter.add_scalars``'
    ``Loss_train/Loss``. ``skipped`` counts what ``skip_bad`` left out: ``bad_records``, ``bytes`` (of
    those records and what followed a broken frame), ``files`` (not regular files, too large or not readable)."""
    _proto()  # without tensorboard, say so before anything else
    logdir = Path(logdir)
    skips = _Skips(skip_bad)
    if not logdir.is_dir():
        if not logdir.exists() and not logdir.is_symlink():
            raise ValueError(f"{logdir}: no such directory or event file")
        return _read_folder([logdir], skips), dict(skips.counts)
    files = sorted(p for p in logdir.rglob("*tfevents*") if not p.is_dir())
    if not files:
        raise ValueError(f"{logdir}: no events.out.tfevents.* file in this directory or below it")
    by_folder: dict[Path, list[Path]] = {}
    for p in files:
        by_folder.setdefault(p.parent, []).append(p)
    out: Series = {}
    origin: dict[str, str] = {}  # name -> where it came from, to name both of two that would share a name
    for folder in sorted(by_folder):
        prefix = "" if folder == logdir else folder.relative_to(logdir).as_posix() + "/"
        for tag, points in _read_folder(by_folder[folder], skips).items():
            where = f"the tag {tag!r} of {folder}"
            if prefix + tag in out:
                raise ValueError(
                    f"{origin[prefix + tag]} and {where} would both be named {prefix + tag!r}; move one of the "
                    "folders out and import it on its own (--run RUN adds its metrics to the same run)"
                )
            out[prefix + tag], origin[prefix + tag] = points, where
    return out, dict(skips.counts)


def skipped_note(skipped: dict[str, int]) -> str:
    """What ``--skip-bad`` left out of the event files, in words."""
    return (
        f"{skipped.get('bad_records', 0)} damaged or truncated records ({skipped.get('bytes', 0)} bytes, with what "
        f"followed a broken record in its file), {skipped.get('files', 0)} event files not read "
        "(not regular files, too large or not readable)"
    )


def _proto():
    """TensorBoard's Event protobuf and tensor utilities (an optional dependency)."""
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise MissingDependency(
            "fwa import tensorboard needs the tensorboard package, which is not installed: "
            "pip install 'fwa[tensorboard]' (or pip install tensorboard)"
        ) from None
    return event_pb2, tensor_util


def _read_folder(files: list[Path], skips: _Skips) -> Series:
    """The scalars of the event files of one folder, read in name order (as TensorBoard reads them): a tag's
    ``simple_value`` points, else its one-element numeric tensors; a tag with any other tensor (a histogram,
    an image, text) is no scalar series and is left out."""
    scalars: Series = {}
    tensors: Series = {}
    not_scalar: set[str] = set()
    for path in files:
        for step, tag, value in _file_values(path, skips):
            if isinstance(value, float):
                scalars.setdefault(tag, []).append((step, value))
            elif value is None:
                not_scalar.add(tag)
            else:
                tensors.setdefault(tag, []).append((step, value[0]))
    out = dict(scalars)
    for tag, points in tensors.items():
        if tag not in out and tag not in not_scalar:
            out[tag] = points
    return out


def _file_values(path: Path, skips: _Skips) -> Iterator[tuple[int, str, float | tuple[float] | None]]:
    """``(step, tag, value)`` of every summary value of one event file: a float for ``simple_value``, a
    1-tuple for a one-element numeric tensor, None for any other tensor (histograms and the like)."""
    event_pb2, tensor_util = _proto()
    try:
        f = open_regular(path, max_bytes=MAX_EVENT_FILE_BYTES)
    except NotRegularFile as e:  # a FIFO, socket, device or a file above the bound
        skips.bad(str(e), files=1)
        return
    except OSError as e:  # a dangling link, a file not readable by this user
        skips.bad(f"{path}: cannot be opened ({e.strerror or type(e).__name__})", files=1)
        return
    with f:
        size = os.fstat(f.fileno()).st_size
        for n, offset, data in _records(f, size, path, skips):
            try:
                event = event_pb2.Event.FromString(data)
            except Exception as e:  # protobuf's DecodeError (its class depends on the protobuf backend)
                skips.bad(
                    f"{path}: record {n} (byte offset {offset}): not a TensorBoard Event ({type(e).__name__})",
                    records=1,
                    nbytes=len(data) + _FRAME,
                )
                continue
            if not event.HasField("summary"):
                continue
            if event.step < 0:
                skips.bad(
                    f"{path}: record {n} (byte offset {offset}): step {event.step} is negative; steps count from 0",
                    records=1,
                    nbytes=len(data) + _FRAME,
                )
                continue
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    yield int(event.step), value.tag, float(value.simple_value)
                elif value.HasField("tensor"):
                    yield int(event.step), value.tag or value.node_name, _scalar(tensor_util, value.tensor)


def _scalar(tensor_util, tensor) -> tuple[float] | None:
    """A one-element numeric tensor as a 1-tuple of its value; None for any other tensor."""
    try:
        arr = tensor_util.make_ndarray(tensor)
    except Exception:  # a dtype numpy cannot hold, a malformed shape: no scalar either way
        return None
    if arr.size != 1 or arr.dtype.kind not in "fiub":
        return None
    return (float(arr.reshape(-1)[0]),)


def _records(f: BinaryIO, size: int, path: Path, skips: _Skips) -> Iterator[tuple[int, int, bytes]]:
    """``(number, byte offset, data)`` of each record of the first ``size`` bytes of ``f`` (numbered from 1),
    checksums checked. A bad record is an error or (``skip_bad``) counted: one with a bad data checksum alone
    (its length, checked by its own checksum, says where the next begins), a broken frame with the rest of
    the file."""
    offset, n = 0, 0
    while offset < size:
        n += 1
        data, problem, span = _record(f, size - offset)
        if problem is not None:
            skips.bad(f"{path}: record {n} (byte offset {offset}): {problem}", records=1, nbytes=span or size - offset)
            if span is None:
                return
        else:
            yield n, offset, data
        offset += span


def _record(f: BinaryIO, left: int) -> tuple[bytes, str | None, int | None]:
    """``(data, problem, span)`` of the record at ``f``'s position, ``left`` bytes before the end of the file:
    ``problem`` None for a good record, ``span`` the bytes it takes, None when the frame is broken (a bad
    length checksum, a truncated record: where the next record begins is unknown)."""
    truncated = "truncated (the file ends inside this record; it may still be being written)"
    head = f.read(_LENGTH.size + _CRC.size) if left >= _FRAME else b""
    if len(head) < _LENGTH.size + _CRC.size:
        return b"", truncated, None
    (length,), (length_crc,) = _LENGTH.unpack(head[:8]), _CRC.unpack(head[8:])
    if masked_crc32c(head[:8]) != length_crc:
        return b"", "bad checksum of the length (a damaged file, or not an event file)", None
    if length > MAX_RECORD_BYTES:
        return b"", f"a record of {length} bytes, more than the {MAX_RECORD_BYTES} bytes a record may have here", None
    if length + _FRAME > left:
        return b"", truncated, None
    data = f.read(length)
    crc = f.read(_CRC.size)
    if len(data) < length or len(crc) < _CRC.size:  # the file shrank while it was read
        return b"", truncated, None
    if masked_crc32c(data) != _CRC.unpack(crc)[0]:
        return b"", "bad checksum of the data (a damaged record)", length + _FRAME
    return data, None, length + _FRAME
