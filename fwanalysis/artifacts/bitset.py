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


#: A tensor that claims this many times more values than its storage holds is a broadcast view (stride 0)
#: of a few bytes posing as a large mask: refused before anything of its claimed size is allocated.
MAX_VIEW_RATIO = 8
#: The most values a sparse tensor may expand to.
MAX_SPARSE_NUMEL = 2**28


def _tensor_bool(x) -> np.ndarray:
    """A torch tensor (any dtype, layout or device) as a boolean numpy array, nonzero is True; torch not imported.

    bfloat16, float8 and quantized tensors are compared with zero in torch (numpy has no such dtypes);
    a sparse tensor is made dense up to MAX_SPARSE_NUMEL values; a meta tensor (no values) and a view
    that claims far more values than its storage holds are refused with ``ValueError``, before anything
    of their claimed size is allocated."""
    x = x.detach()
    numel = int(x.numel())
    if getattr(x, "is_meta", False):
        raise ValueError(f"a meta tensor of shape {list(x.shape)} holds no values")
    if getattr(x, "is_quantized", False):
        x = x.dequantize()
    layout = str(getattr(x, "layout", "torch.strided"))
    if layout != "torch.strided":
        if numel > MAX_SPARSE_NUMEL:
            raise ValueError(
                f"a {layout.removeprefix('torch.')} tensor of {numel} values, more than the {MAX_SPARSE_NUMEL} "
                "a mask may expand to here"
            )
        x = x.to_dense()
    else:
        stored = x.untyped_storage().nbytes() // max(x.element_size(), 1)
        if numel > MAX_VIEW_RATIO * stored + 1024:
            raise ValueError(
                f"a tensor of shape {list(x.shape)} ({numel} values) whose storage holds {stored}: a broadcast "
                "view (stride 0), not a mask"
            )
    if str(x.dtype) != "torch.bool":
        try:
            x = x != 0
        except (RuntimeError, TypeError):  # a dtype without comparisons on this device (float8 on some builds)
            x = x.float() != 0
    return x.cpu().numpy()


def as_bool(x) -> np.ndarray:
    """A boolean numpy array from a numpy array, torch tensor (any dtype, layout or device; see
    :func:`_tensor_bool`) or nested sequence, nonzero is True (torch not imported)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        return _tensor_bool(x)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise ValueError(f"expected a mask (an array of booleans or numbers), got {type(x).__name__} of Python objects")
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
