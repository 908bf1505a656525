"""Packed bitsets: the one representation of masks and weight sets (docs/format.md, "Packed bitsets").

A set of weights of one layer is ``numpy.packbits(flat_bool)``: C-order flat index, big bit order,
``ceil(numel / 8)`` bytes, pad bits zero. Analysis keeps sets packed and counts with popcount.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "as_bool",
    "pack",
    "unpack",
    "packed_length",
    "check_packed",
    "popcount",
    "and_count",
    "or_count",
]

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def as_bool(x) -> np.ndarray:
    """A boolean numpy array from a numpy array, torch tensor or nested sequence (torch not imported)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype != np.bool_:
        arr = arr != 0
    return arr


def packed_length(numel: int) -> int:
    """Bytes of a packed bitset of ``numel`` bits."""
    return (int(numel) + 7) // 8


def pack(x) -> np.ndarray:
    """Pack a boolean array (any shape, C order) into the uint8 bitset of the run format."""
    return np.packbits(as_bool(x).reshape(-1))


def unpack(packed: np.ndarray, numel: int, shape=None) -> np.ndarray:
    """Unpack a bitset to a boolean array of ``numel`` elements, reshaped to ``shape`` if given."""
    flat = np.unpackbits(np.asarray(packed, dtype=np.uint8), count=int(numel)).astype(bool)
    return flat.reshape(shape) if shape is not None else flat


def check_packed(packed: np.ndarray, numel: int) -> str | None:
    """Return a problem description if ``packed`` is not a valid bitset of ``numel`` bits, else None."""
    arr = np.asarray(packed)
    if arr.dtype != np.uint8:
        return f"bitset has dtype {arr.dtype}, expected uint8"
    if arr.ndim != 1:
        return f"bitset has {arr.ndim} dimensions, expected 1"
    want = packed_length(numel)
    if arr.shape[0] != want:
        return f"bitset has {arr.shape[0]} bytes, expected {want} for {numel} weights"
    pad = want * 8 - int(numel)
    if pad and want and (int(arr[-1]) & ((1 << pad) - 1)):
        return f"bitset has non-zero pad bits (last byte {int(arr[-1]):#04x}, {pad} pad bits)"
    return None


def _u64(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a uint8 buffer into a uint64 view of the aligned bulk and the uint8 tail."""
    a = np.ascontiguousarray(packed, dtype=np.uint8)
    n = a.shape[0] // 8 * 8
    return a[:n].view(np.uint64), a[n:]


def popcount(packed: np.ndarray) -> int:
    """Number of set bits in a packed bitset (popcount on uint64 words, no unpacking)."""
    bulk, tail = _u64(packed)
    return int(np.bitwise_count(bulk).sum(dtype=np.int64)) + int(_POP8[tail].sum(dtype=np.int64))


def and_count(a: np.ndarray, b: np.ndarray) -> int:
    """|A ∩ B| of two packed bitsets of equal length."""
    a64, at = _u64(a)
    b64, bt = _u64(b)
    return int(np.bitwise_count(a64 & b64).sum(dtype=np.int64)) + int(_POP8[at & bt].sum(dtype=np.int64))


def or_count(a: np.ndarray, b: np.ndarray) -> int:
    """|A ∪ B| of two packed bitsets of equal length."""
    a64, at = _u64(a)
    b64, bt = _u64(b)
    return int(np.bitwise_count(a64 | b64).sum(dtype=np.int64)) + int(_POP8[at | bt].sum(dtype=np.int64))
