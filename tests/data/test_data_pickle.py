"""Object arrays unpickled as checked data (ptal/data/data_pickle.py): NumPy's pickles of every protocol read back
equal, and damaged ones are errors, never a crash (run in a child process, so that a crash fails the test)."""
import io
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ptal.data.data_pickle import load_data_pickle


def object_array(items):
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


def assert_same(read, expected):
    assert type(read) is type(expected)
    if isinstance(expected, np.ndarray):
        assert read.dtype == expected.dtype and read.shape == expected.shape
        if expected.dtype == object:
            for a, b in zip(read.ravel(order="K"), expected.ravel(order="K")):
                assert_same(a, b)
        else:
            np.testing.assert_array_equal(read, expected)
    elif isinstance(expected, (list, tuple)):
        assert len(read) == len(expected)
        for a, b in zip(read, expected):
            assert_same(a, b)
    else:
        assert read == expected or (read != read and expected != expected)  # NaN


DTYPES = st.sampled_from(["<f4", "<f8", ">f8", "<i8", "|u1", "|b1", "<c8", "|S7", "<U3"])


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
       st.sampled_from([2, 3, 4, 5]), st.booleans())
def test_numpy_arrays_of_every_protocol_read_back_equal(array, protocol, fortran):
    array = np.asfortranarray(array) if fortran else array
    assert_same(load_data_pickle(pickle.dumps(array, protocol=protocol)), array)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_object_arrays_of_arrays_lists_scalars_and_strings(protocol):
    entries = [np.arange(6.0).reshape(3, 2), np.ones((2, 2), np.float32).T, [[0.5, 2.0], [2.0, 3.2]], ["take", "open"],
               b"S1_a", np.float64(np.nan), np.int64(-1), (1, "a"), {"segment": [1.0, 2.0]}, None, 3, "é",
               object_array([np.zeros(2), "nested"])]
    array = object_array(entries).reshape(13, 1)
    assert_same(load_data_pickle(pickle.dumps(array, protocol=protocol)), array)


def numpy_pickle(array, protocol=4) -> bytes:
    return pickle.dumps(array, protocol=protocol)


@pytest.mark.parametrize("edit, message", [
    # NumPy's own ndarray.__setstate__ reads past the list here (a segfault in NumPy 2.4).
    (lambda b: b.replace(b"K\x04\x85", b"K\x05\x85", 1), "needs a list of 5 entries, got list of 4"),
    (lambda b: b.replace(b"K\x04\x85", b"K\x03\x85", 1), "needs a list of 3 entries, got list of 4"),
    (lambda b: b.replace(b"\x8c\x02O8", b"\x8c\x02V8", 1), "dtype 'V8' is not a plain"),
    (lambda b: b.replace(b"\x8c\x07ndarray", b"\x8c\x07matrix\x00", 1), "refers to numpy.matrix"),
])
def test_a_damaged_object_array_is_an_error(edit, message):
    data = edit(numpy_pickle(object_array([[0.5, 2.0], [1.0], [3.0], [4.0]])))
    with pytest.raises((ValueError, pickle.UnpicklingError), match=message):
        load_data_pickle(data)


def test_arrays_whose_bytes_disagree_with_their_shape_are_errors():
    good = numpy_pickle(np.arange(4.0), protocol=2)
    assert b"K\x04\x85" in good
    with pytest.raises(ValueError, match=r"needs 40 bytes, got bytes of 32"):
        load_data_pickle(good.replace(b"K\x04\x85", b"K\x05\x85", 1))
    with pytest.raises(ValueError, match=r"a float64 scalar needs 8 bytes, got 1"):
        load_data_pickle(numpy_pickle(np.float64(1.5), protocol=3).replace(b"C\x08\x00\x00\x00\x00\x00\x00\xf8?", b"C\x01?", 1))


def test_a_cut_counted_argument_or_a_far_memo_index_is_refused_before_unpickling():
    """A BYTEARRAY8 announcing more bytes than the pickle has (CPython then frees a buffer still in use) and a
    PUT to memo entry 680 000 000 (CPython sizes its memo by it: gigabytes) are refused by the opcode scan."""
    with pytest.raises(ValueError, match=r"bytearray8"):
        load_data_pickle(b"\x80\x05\x96" + (10**12).to_bytes(8, "little") + b"ab.")
    with pytest.raises(ValueError, match=r"LONG_BINPUT names memo entry 680000000 after 2 opcodes"):
        load_data_pickle(b"\x80\x04K\x01r" + (680_000_000).to_bytes(4, "little") + b".")


# Every one-bit flip of the pickle of an SF-Net-like annotation array and of a features array, in a child process:
# each must read back or raise an Exception (read_npy names the file of any); a crash, or a "SystemError" printed
# from a freed buffer (memory an array may still use), fails the test.
FLIPPER = textwrap.dedent("""
    import sys
    import numpy as np
    from ptal.data.data_pickle import load_data_pickle
    data = open(sys.argv[1], "rb").read()
    for position in range(len(data)):
        for bit in range(8):
            flipped = data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1:]
            try:
                load_data_pickle(flipped)
            except Exception:
                pass
    print("done")
""")


@pytest.mark.parametrize("name, array", [
    ("segments", object_array([[[0.5, 2.0], [2.0, 3.2]], [[1.0, 4.0]], [[0.0, 1.0]], []])),
    ("features", object_array([np.ones((2, 3), np.float32), np.zeros((1, 3), np.float32)])),
    ("labels", object_array([["take", "open"], ["pour"]])),
])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_no_bit_flip_crashes_the_reader(tmp_path, name, array, protocol):
    path = tmp_path / f"{name}.pickle"
    path.write_bytes(numpy_pickle(array, protocol))
    done = subprocess.run([sys.executable, "-c", FLIPPER, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the reader crashed (status {done.returncode}): {done.stderr[-2000:]}"
    assert done.stdout.splitlines() == ["done"], done.stdout[-2000:]
    assert "SystemError" not in done.stderr, done.stderr[-2000:]
