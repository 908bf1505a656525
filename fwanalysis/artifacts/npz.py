"""Reading the members of a run's npz files (docs/format.md, "npz files"), each checked before it is decompressed.

:func:`read_members` returns the members asked for, as arrays of the dtype and shape the run says they have. Two
ways lead there, and both end in the same arrays or the same refusal:

* the **plain form**, read straight from the bytes: a ZIP as ``numpy.savez`` and fwa's writer write it (no
  comment, no ZIP64 end records, no encryption, stored or DEFLATE members) whose members are numpy's plain npy
  headers (format 1.0, ``{'descr': ..., 'fortran_order': ..., 'shape': (...), }``) with exactly the data they
  promise. Every check that ``zipfile`` and numpy's parser make on such a file is made here too, and more (the
  DEFLATE stream ends where the member ends), so this way only ever *accepts*: anything it does not accept...
* ... goes the **general way**, ``zipfile`` and numpy's own header parser, which accepts or refuses exactly what
  it always did, with the same message. A corrupt, hostile or unusual file costs the general way's time; a file
  as fwa writes it, less than half of it (no ZipFile object; 45 against 104 us for a small run's file).
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from functools import lru_cache

import numpy as np

__all__ = ["MemberError", "read_members", "ZIP_ERRORS"]


class MemberError(Exception):
    """An npz member whose header or data is not what the run says it should be."""


#: What reading an npz the general way may raise for a file that is not a sound ZIP (besides MemberError).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
)

# numpy's writer gives every plain array's npy header (format 1.0) one form, e.g.
# {'descr': '|u1', 'fortran_order': False, 'shape': (3,), } padded with spaces to a newline. This pattern
# reads those headers (all of fwa's and numpy.savez's files) in a few microseconds; any other header goes
# to numpy's own parser (ast.literal_eval, ~40 us), which accepts or refuses exactly what it always did.
_PLAIN_HEADER = re.compile(
    rb"\{'descr': '([<>|=][biufc][0-9]{1,2})', 'fortran_order': (False|True), "
    rb"'shape': \(((?:[0-9]{1,20}, )*(?:[0-9]{1,20},?)?)\), \} *\n"
)
_MAX_HEADER = 10_000  # numpy's own limit on the header of an array it is asked to load
_NPY_MAGIC = b"\x93NUMPY\x01\x00"


@lru_cache(maxsize=64)
def _plain_dtype(descr: bytes) -> np.dtype | None:
    try:
        return np.dtype(descr.decode("ascii"))
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=1024)  # the runs of a study repeat a few headers (one per layer shape) many times
def _parse_plain(header: bytes) -> tuple[tuple[int, ...], bool, np.dtype] | None:
    """(shape, fortran_order, dtype) of a plain npy header dict (the bytes after the length); else None."""
    match = _PLAIN_HEADER.fullmatch(header)
    if match is None:
        return None
    descr, fortran, shape = match.groups()
    dtype = _plain_dtype(descr)
    if dtype is None:
        return None
    return tuple(int(side) for side in shape.split(b",") if side.strip()), fortran == b"True", dtype


def _plain_header(f) -> tuple[tuple[int, ...], bool, np.dtype] | None:
    """(shape, fortran_order, dtype) of an npy stream whose header has numpy's plain form; else None."""
    head = f.read(10)
    if len(head) < 10 or head[:8] != _NPY_MAGIC:
        return None
    length = int.from_bytes(head[8:], "little")
    if length > _MAX_HEADER:
        return None
    return _parse_plain(f.read(length))


def _numpy_header(f, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of an npy stream by numpy's parser; ``MemberError`` if it refuses it."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            return fmt.read_array_header_1_0(f)
        if version in ((2, 0), (3, 0)):
            return fmt.read_array_header_2_0(f)
    except ValueError as e:
        raise MemberError(f"{key}: not an npy array ({e})") from None
    raise MemberError(f"{key}: unknown npy format version {version}")


def _read_member(zf: zipfile.ZipFile, key: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Member ``key`` of an npz as an array of ``dtype`` and ``shape``, its header checked before its data."""
    f = zf.open(key + ".npy")
    try:
        header = _plain_header(f)
        if header is None:  # another form of header: numpy's parser, from the member's start again
            f.close()
            f = zf.open(key + ".npy")
            header = _numpy_header(f, key)
        got_shape, fortran, got_dtype = header
        if got_dtype.hasobject:
            raise MemberError(f"{key}: holds Python objects (a pickle), refused")
        if got_dtype != dtype or tuple(got_shape) != tuple(shape):
            raise MemberError(
                f"{key}: expected {dtype} of shape {list(shape)}, the file holds {got_dtype} of shape {list(got_shape)}"
            )
        arr = np.empty(math.prod(shape), dtype=dtype)
        buf, got = memoryview(arr).cast("B"), 0
        while got < len(buf):  # decompresses only what the header promised
            n = f.readinto(buf[got:])
            if not n:
                raise MemberError(f"{key}: truncated ({got} of {len(buf)} bytes)")
            got += n
        if f.read(1):
            raise MemberError(f"{key}: more data than its header says ({len(buf)} bytes)")
    finally:
        f.close()
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_general(f, expected: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    """The general way: ``zipfile`` and numpy's header parser. Raises MemberError or one of ZIP_ERRORS."""
    out = {}
    with zipfile.ZipFile(f) as zf:
        names = set(zf.namelist())
        for key, (dtype, shape) in expected.items():
            if key + ".npy" not in names:
                raise MemberError(f"missing key {key!r}")
            out[key] = _read_member(zf, key, dtype, shape)
    return out


# -- the plain form, read from the bytes ------------------------------------------------------------------------
#: Files up to this size, with members that unpack to at most this many bytes, are read whole and tried in the
#: plain form first; larger ones (a big model's state dumps) go the general way, which streams them.
PLAIN_MAX_BYTES = 64 * 2**20
_END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory entry, 46 bytes
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # local file header, 30 bytes
_ZIP64_LOCATOR = b"PK\x06\x07"
_FLAGS_OK = 0x0800 | 0x0008  # UTF-8 names, a data descriptor after the data: nothing else (encryption, patches)
_MAX_EXTRACT_VERSION = 63  # zipfile's own bound


def _plain_directory(data: bytes) -> dict[str, tuple[int, int, int, int, int]] | None:
    """``{name: (method, crc, compressed size, size, data offset)}`` of a ZIP in the plain form; else None."""
    size = len(data)
    if size < _END.size + _LOCAL.size:
        return None
    sig, disk, disk_cd, n_disk, n_total, cd_size, cd_offset, comment = _END.unpack_from(data, size - _END.size)
    if sig != b"PK\x05\x06" or comment or disk or disk_cd or n_disk != n_total:
        return None
    if size >= _END.size + 20 and data[size - _END.size - 20 : size - _END.size - 16] == _ZIP64_LOCATOR:
        return None  # ZIP64 end records: zipfile reads those
    if cd_offset + cd_size != size - _END.size:
        return None  # data before the archive, or a directory that is not where the end record says
    entries: dict[str, tuple[int, int, int, int, int]] = {}
    spans: list[tuple[int, int]] = []  # (local header offset, end of data) of each member
    pos = cd_offset
    for _ in range(n_total):
        if pos + _CENTRAL.size > cd_offset + cd_size:
            return None
        (sig, _cv, _cs, extract, _r, flags, method, _t, _d, crc, csize, usize, name_len, extra_len, comment_len,
         disk_start, _ia, _ea, offset) = _CENTRAL.unpack_from(data, pos)  # fmt: skip
        if sig != b"PK\x01\x02" or extract > _MAX_EXTRACT_VERSION or flags & ~_FLAGS_OK or method not in (0, 8):
            return None
        if extra_len or comment_len or disk_start:
            return None
        raw = data[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len]
        pos += _CENTRAL.size + name_len
        if len(raw) != name_len or not raw.isascii() or b"\x00" in raw or b"\\" in raw:
            return None
        name = raw.decode("ascii")
        if name in entries or offset + _LOCAL.size > cd_offset:
            return None
        lsig, _v, _lf, _lflags, _lm, _lt, _ld, _lc, _lcs, _lus, lname_len, lextra_len = _LOCAL.unpack_from(data, offset)
        start = offset + _LOCAL.size
        if lsig != b"PK\x03\x04" or data[start : start + lname_len] != raw:
            return None
        entries[name] = (method, crc, csize, usize, start + lname_len + lextra_len)
        spans.append((offset, start + lname_len + lextra_len + csize))
    if pos != cd_offset + cd_size:
        return None
    spans.sort()
    ends = [offset for offset, _ in spans[1:]] + [cd_offset]
    if any(end > next_start for (_, end), next_start in zip(spans, ends)):
        return None  # a member's data runs into the next member or the directory (zipfile 3.12+ refuses it)
    return entries


def _inflate_rest(d, head: bytes, size: int) -> bytes | None:
    """``head`` (what ``d`` inflated so far) and the rest of the stream, if all of it unpacks to exactly ``size``
    bytes and the stream ends there; else None. Inflates at most ``size`` bytes, and one more to see the end."""
    rest = size - len(head)
    if rest < 0:
        return None
    out = head + d.decompress(d.unconsumed_tail, rest) if rest else head
    if len(out) != size:
        return None
    if not d.eof and (d.decompress(d.unconsumed_tail, 1) or not d.eof):
        return None
    if d.unused_data or d.unconsumed_tail:
        return None
    return out


def _plain_member(data: memoryview, entry, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray | None:
    """A member in the plain form holding exactly ``dtype`` of ``shape``: its array; anything else, None."""
    method, crc, csize, usize, at = entry
    if at + csize > len(data):
        return None
    if method == 8:  # the header first: the data is inflated only when the header says it is what is wanted
        d = zlib.decompressobj(-15)
        head = d.decompress(data[at : at + csize], 10 + _MAX_HEADER)
    else:
        head = data[at : at + min(csize, 10 + _MAX_HEADER)]
    if len(head) < 10 or head[:8] != _NPY_MAGIC:
        return None
    body = 10 + int.from_bytes(head[8:10], "little")
    if body > len(head) or usize != body + math.prod(shape) * dtype.itemsize or usize > PLAIN_MAX_BYTES:
        return None
    header = _parse_plain(bytes(head[10:body]))
    if header is None or header[2] != dtype or header[0] != tuple(shape):
        return None
    if method == 8:
        raw = _inflate_rest(d, head, usize)
    else:
        raw = data[at : at + usize] if csize == usize else None
    if raw is None or zlib.crc32(raw) != crc:
        return None
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=body).copy()
    return arr.reshape(shape, order="F" if header[1] else "C")


def _read_plain(data: bytes, expected: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> dict[str, np.ndarray] | None:
    """Every member asked for, if the file and each of them is in the plain form; else None (the general way)."""
    try:
        entries = _plain_directory(data)
        if entries is None:
            return None
        view, out = memoryview(data), {}
        for key, (dtype, shape) in expected.items():
            entry = entries.get(key + ".npy")
            if entry is None:
                return None
            arr = _plain_member(view, entry, dtype, shape)
            if arr is None:
                return None
            out[key] = arr
        return out
    except (struct.error, zlib.error, ValueError, OverflowError):
        return None


def read_members(f, expected: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    """The members ``expected`` (``{key: (dtype, shape)}``) of the npz open as the binary file ``f``.

    Each member's npy header is checked against its expected dtype and shape *before* its data is
    decompressed, and exactly that many bytes are read, so a small file that claims (or unpacks to)
    gigabytes is refused without allocating them. Object arrays (pickles) are refused. Raises
    :class:`MemberError` or one of ``ZIP_ERRORS``.
    """
    size = f.seek(0, 2)
    f.seek(0)
    wanted = sum(math.prod(shape) * dtype.itemsize for dtype, shape in expected.values())
    if size <= PLAIN_MAX_BYTES and wanted <= PLAIN_MAX_BYTES:
        data = f.read(size + 1)
        if len(data) == size:  # a file that grew while it was read goes the general way
            out = _read_plain(data, expected)
            if out is not None:
                return out
        f.seek(0)
    return _read_general(f, expected)
