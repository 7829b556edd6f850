import numpy as np
import pytest

from ptal.data import LacpFeatures, NpyFeatures, save_features
from ptal.data.atomic import atomic_file


def test_npy_features_rows_and_dtype(tmp_path):
    array = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.save(tmp_path / "v.npy", array)
    source = NpyFeatures(tmp_path, dim=3)
    assert source.length("v") == 4
    whole = source.load("v")
    assert whole.dtype == np.float32 and whole.flags.writeable
    np.testing.assert_array_equal(whole, array)
    np.testing.assert_array_equal(source.load("v", 1, 3), [[3, 4, 5], [6, 7, 8]])
    with pytest.raises(ValueError, match=r"rows \[2, 5\) requested from an array of 4 rows"):
        source.load("v", 2, 5)


def test_npy_features_errors_name_the_file(tmp_path):
    source = NpyFeatures(tmp_path, dim=3)
    with pytest.raises(FileNotFoundError, match=r"no features for video 'missing': .*missing.npy does not exist"):
        source.load("missing")
    np.save(tmp_path / "wide.npy", np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"wide.npy: features of size 5; expected 3"):
        source.length("wide")
    np.save(tmp_path / "flat.npy", np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"flat.npy: features of shape \(4,\)"):
        source.load("flat")
    np.save(tmp_path / "ints.npy", np.zeros((4, 3), dtype=np.int32))
    with pytest.raises(ValueError, match=r"ints.npy: features of dtype int32"):
        source.load("ints")


def test_non_finite_values_are_reported_with_their_row(tmp_path):
    array = np.ones((6, 3), dtype=np.float32)
    array[3, 1] = np.nan
    array[5, 0] = np.inf
    np.save(tmp_path / "bad.npy", array)
    source = NpyFeatures(tmp_path, dim=3)
    with pytest.raises(ValueError, match=r"bad.npy: non-finite value in row 3 \(2 of rows \[0, 6\) affected\)"):
        source.load("bad")
    with pytest.raises(ValueError, match=r"bad.npy: non-finite value in row 5"):
        source.load("bad", 4, 6)
    np.testing.assert_array_equal(source.load("bad", 0, 3), np.ones((3, 3)))  # rows not read are not checked


def write_lacp(root, split, video, rgb, flow):
    for stream, array in (("rgb", rgb), ("flow", flow)):
        (root / "features" / split / stream).mkdir(parents=True, exist_ok=True)
        np.save(root / "features" / split / stream / f"{video}.npy", array)


def test_lacp_features_concatenate_rgb_then_flow(tmp_path):
    write_lacp(tmp_path, "train", "v", np.full((5, 2), 1.0, np.float32), np.full((5, 2), 2.0, np.float32))
    source = LacpFeatures(tmp_path, "train", dim=4)
    assert source.length("v") == 5
    np.testing.assert_array_equal(source.load("v", 1, 3), [[1, 1, 2, 2], [1, 1, 2, 2]])


def test_lacp_features_errors(tmp_path):
    write_lacp(tmp_path, "test", "short_flow", np.zeros((5, 2), np.float32), np.zeros((4, 2), np.float32))
    source = LacpFeatures(tmp_path, "test", dim=4)
    with pytest.raises(ValueError, match=r"rgb/short_flow.npy has 5 snippets but .*flow/short_flow.npy has 4"):
        source.load("short_flow")
    write_lacp(tmp_path, "test", "wide", np.zeros((5, 3), np.float32), np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"rgb/wide.npy: half of the features, RGB or flow of size 3; expected 2"):
        source.length("wide")
    write_lacp(tmp_path, "test", "no_flow", np.zeros((5, 2), np.float32), np.zeros((5, 2), np.float32))
    (tmp_path / "features" / "test" / "flow" / "no_flow.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"video 'no_flow': .*flow/no_flow.npy does not exist"):
        source.length("no_flow")
    with pytest.raises(ValueError, match="dim must be even"):
        LacpFeatures(tmp_path, "test", dim=5)


def test_save_features_is_atomic(tmp_path):
    path = tmp_path / "deep" / "v.npy"
    save_features(path, np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(np.load(path), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_file(path) as file:
            file.write(b"partial")
            raise RuntimeError("interrupted")
    np.testing.assert_array_equal(np.load(path), np.ones((2, 3)))  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == ["v.npy"]  # no temporary left behind


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:-20], "truncated or corrupt"),          # fewer rows than the header announces
    (lambda data: data[:60], "truncated or corrupt"),           # a cut header
    (lambda data: b"", "not a NumPy .npy file"),
    (lambda data: b"start,end\n0,1\n", "not a NumPy .npy file"),
    (lambda data: b"PK\x03\x04" + data, "not a NumPy .npy file"),  # an .npz archive by its name
])
def test_truncated_or_corrupt_files_are_named(tmp_path, damage, message):
    path = tmp_path / "v.npy"
    np.save(path, np.ones((10, 3), np.float32))
    path.write_bytes(damage(path.read_bytes()))
    source = NpyFeatures(tmp_path, dim=3)
    for read in (source.length, source.load):
        with pytest.raises(ValueError, match=message) as error:
            read("v")
        assert str(error.value).startswith(f"{path}: ")


def test_object_arrays_are_refused_with_the_file(tmp_path):
    np.save(tmp_path / "objects.npy", np.empty((2, 3), dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"objects.npy: unreadable .npy file"):
        NpyFeatures(tmp_path, dim=3).load("objects")


def test_a_truncated_flow_file_is_named(tmp_path):
    write_lacp(tmp_path, "test", "v", np.zeros((5, 2), np.float32), np.zeros((5, 2), np.float32))
    flow = tmp_path / "features" / "test" / "flow" / "v.npy"
    flow.write_bytes(flow.read_bytes()[:-8])
    with pytest.raises(ValueError, match=r"flow/v.npy: unreadable .npy file, truncated or corrupt"):
        LacpFeatures(tmp_path, "test", dim=4).load("v")
