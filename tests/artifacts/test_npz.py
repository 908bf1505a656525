"""Reading npz members (fwanalysis.artifacts.npz): the plain form read from the bytes accepts only what the general
way (zipfile and numpy's header parser) accepts, with the same arrays, and everything else is answered by the
general way itself, with the same refusal and message. Damaged, truncated, extended and unusual files of every
kind are fed to both."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwanalysis.artifacts import npz
from fwanalysis.artifacts.io import write_npz

U8 = np.dtype(np.uint8)
F4 = np.dtype(np.float32)


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "pruned/fc1.weight": np.packbits(rng.random(1000) < 0.2),
        "grown/fc1.weight": np.packbits(rng.random(1000) < 0.05),
        "weight/fc1.weight": rng.standard_normal((7, 5)).astype(np.float32),
        "mask/empty": np.zeros(0, np.uint8),
    }


def expected_of(arrs: dict[str, np.ndarray]) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    return {k: (v.dtype, v.shape) for k, v in arrs.items()}


def fwa_npz(tmp_path, arrs=None) -> bytes:
    p = tmp_path / "x.npz"
    write_npz(p, arrs or arrays(), durable=False)
    return p.read_bytes()


def numpy_npz(arrs=None, *, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **(arrs or arrays()))
    return buf.getvalue()


def outcome(fn, data: bytes, expected):
    """The arrays read, or the refusal as (type, message)."""
    try:
        return fn(io.BytesIO(data), expected)
    except npz.MemberError as e:
        return ("MemberError", str(e))
    except npz.ZIP_ERRORS as e:
        return (type(e).__name__, str(e))


def same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    return a.keys() == b.keys() and all(
        x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y) for x, y in ((a[k], b[k]) for k in a)
    )


def assert_same_as_general(data: bytes, expected) -> object:
    got = outcome(npz.read_members, data, expected)
    want = outcome(npz._read_general, data, expected)
    assert same(got, want), (got, want)
    return got


@pytest.fixture
def general_calls(monkeypatch):
    """How many times the general way was taken."""
    calls = []
    real = npz._read_general
    monkeypatch.setattr(npz, "_read_general", lambda f, e: calls.append(1) or real(f, e))
    return calls


@pytest.mark.parametrize("kind", ["fwa", "savez", "savez_compressed"])
def test_files_as_written_are_read_in_the_plain_form(tmp_path, kind, general_calls):
    data = fwa_npz(tmp_path) if kind == "fwa" else numpy_npz(compressed=kind == "savez_compressed")
    got = assert_same_as_general(data, expected_of(arrays()))
    general_calls.clear()
    got = npz.read_members(io.BytesIO(data), expected_of(arrays()))
    assert not general_calls, "a file as fwa and numpy write it went the general way"
    for k, v in arrays().items():
        assert np.array_equal(got[k], v) and got[k].flags.writeable and got[k].flags.c_contiguous
    sub = {"grown/fc1.weight": (U8, (125,))}  # only the members asked for
    assert list(npz.read_members(io.BytesIO(data), sub)) == ["grown/fc1.weight"]


def test_a_fortran_ordered_member_keeps_its_order(tmp_path):
    arrs = {"w": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))}
    got = assert_same_as_general(numpy_npz(arrs, compressed=True), expected_of(arrs))
    assert np.array_equal(got["w"], arrs["w"])


def _zip(members: dict[str, bytes], *, comment: bytes = b"", method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, payload in members.items():
            z.writestr(name, payload)
        z.comment = comment
    return buf.getvalue()


def _npy(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, **kw)
    return buf.getvalue()


def _header(descr: str, shape, extra: str = "") -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(shape)!r}, {extra}}}"
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


A = np.packbits(np.arange(80) % 3 == 0)  # 10 bytes
WANT = {"a": (U8, (10,))}
UNUSUAL = {
    "a comment on the archive": _zip({"a.npy": _npy(A)}, comment=b"hello"),
    "bzip2 members": _zip({"a.npy": _npy(A)}, method=zipfile.ZIP_BZIP2),
    "a member missing": _zip({"b.npy": _npy(A)}),
    "the same member twice": _zip({"a.npy": _npy(A), "b.npy": b""}).replace(b"b.npy", b"a.npy"),
    "another dtype": _zip({"a.npy": _npy(A.astype(np.int16))}),
    "another shape": _zip({"a.npy": _npy(A.reshape(2, 5))}),
    "a pickle": _zip({"a.npy": _npy(np.array([1, None], dtype=object), allow_pickle=True)}),
    "npy format 2.0": _zip({"a.npy": _npy(A, version=(2, 0))}),
    "a header with another key": _zip({"a.npy": _header("|u1", (10,), "'x': 1, ") + A.tobytes()}),
    "a header of another form": _zip({"a.npy": _header("|u1", (10,)).replace(b"(10,)", b"(10, )") + A.tobytes()}),
    "a big-endian float": _zip({"a.npy": _npy(np.zeros(10, ">f4"))}),
    "more data than the header says": _zip({"a.npy": _npy(A) + b"\0"}),
    "less data than the header says": _zip({"a.npy": _npy(A)[:-1]}),
    "a bomb: a header of 10^12 bytes and little data": _zip({"a.npy": _header("|u1", (10**12,)) + bytes(1000)}),
    "not a zip": b"hello, world" * 10,
    "empty": b"",
    "data before the archive": b"junk" * 8 + _zip({"a.npy": _npy(A)}),
    "data after the archive": _zip({"a.npy": _npy(A)}) + b"junk",
    "data between the directory and its end record": (
        lambda z: z[: z.index(b"PK\x05\x06")] + b"junk" * 8 + z[z.index(b"PK\x05\x06") :]
    )(_zip({"a.npy": _npy(A)})),
    "a local header naming another member": _zip({"a.npy": _npy(A)}).replace(b"a.npy", b"b.npy", 1),
}


@pytest.mark.parametrize("name", list(UNUSUAL))
def test_unusual_files_are_answered_as_the_general_way_answers(name):
    assert_same_as_general(UNUSUAL[name], WANT)


def test_a_wrong_crc_is_refused_as_zipfile_refuses_it(tmp_path):
    data = bytearray(fwa_npz(tmp_path))
    at = data.index(b"PK\x01\x02")  # the first central directory entry: its CRC at offset 16
    data[at + 16] ^= 0xFF
    data[data.index(b"PK\x03\x04") + 14] ^= 0xFF  # and the local header's copy
    got = assert_same_as_general(bytes(data), expected_of(arrays()))
    assert got[0] == "BadZipFile" and "CRC" in got[1]


def test_an_encrypted_flag_is_refused_as_zipfile_refuses_it(tmp_path):
    data = bytearray(fwa_npz(tmp_path))
    for sig, at in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):  # general purpose flags, both headers
        pos = data.index(sig)
        data[pos + at] |= 1
    got = assert_same_as_general(bytes(data), expected_of(arrays()))
    assert got[0] == "RuntimeError"


def test_a_member_whose_deflate_stream_runs_on_is_read_as_zipfile_reads_it():
    """zipfile stops at the size the directory gives; the plain form wants the stream to end there too, so
    such a member goes the general way, and the answer is the same."""
    raw = _npy(A)
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    stream = c.compress(raw + b"tail") + c.flush()
    good = _zip({"a.npy": raw})
    # swap the member's compressed stream for one that unpacks to more, keeping every size field consistent
    name_at = good.index(b"PK\x03\x04")
    head = struct.unpack_from("<4s2B4HL2L2H", good, name_at)
    start = name_at + 30 + head[10] + head[11]
    old_len = head[8]
    data = bytearray(good[:start] + stream + good[start + old_len :])
    delta = len(stream) - old_len
    struct.pack_into("<L", data, name_at + 18, len(stream))
    cd = data.index(b"PK\x01\x02")
    struct.pack_into("<L", data, cd + 20, len(stream))
    end = data.index(b"PK\x05\x06")
    struct.pack_into("<L", data, end + 16, struct.unpack_from("<L", data, end + 16)[0] + delta)
    got = assert_same_as_general(bytes(data), WANT)
    assert not isinstance(got, tuple) and np.array_equal(got["a"], A)


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("append"), st.integers(1, 64), st.integers(0, 255)),
)


def mutate(data: bytes, how) -> bytes:
    kind, at, value = how
    at = at % (len(data) + 1)
    if kind == "flip" and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([data[at] ^ value]) + data[at + 1 :]
    if kind == "cut":
        return data[:at]
    if kind in ("insert", "flip"):
        return data[:at] + bytes([value]) + data[at:]
    return data + bytes([value]) * at


@settings(max_examples=300, deadline=None)
@given(source=st.sampled_from(["fwa", "savez", "savez_compressed"]), how=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_damaged_files_are_answered_as_the_general_way_answers(tmp_path_factory, source, how):
    if source == "fwa":
        data = fwa_npz(tmp_path_factory.mktemp("npz"))
    else:
        data = numpy_npz(compressed=source == "savez_compressed")
    for h in how:
        data = mutate(data, h)
    assert_same_as_general(data, expected_of(arrays()))


def test_overlapping_members_go_the_general_way(general_calls):
    """A member whose data holds another member (a "quoted overlap" zip bomb): zipfile since Python 3.12 refuses
    it, older ones read it; the plain form leaves it to the general way, whichever that is."""
    inner = _zip({"b.npy": _npy(A)}, method=zipfile.ZIP_STORED)
    b_record = inner[: inner.index(b"PK\x01\x02")]  # b's local header and data
    outer = np.frombuffer(b_record, np.uint8)
    data = bytearray(_zip({"a.npy": _npy(outer), "b.npy": _npy(A)}, method=zipfile.ZIP_STORED))
    struct.pack_into("<L", data, data.rindex(b"PK\x01\x02") + 42, data.index(b_record))  # b: the copy inside a
    want = {"a": (U8, outer.shape), "b": WANT["a"]}
    assert_same_as_general(bytes(data), want)
    general_calls.clear()
    npz.read_members(io.BytesIO(bytes(data)), want)
    assert general_calls
