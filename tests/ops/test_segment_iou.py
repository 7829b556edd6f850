import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import segment_iou
from tests.ops.backends import device_of, fast_backends
from tests.ops.strategies import segment_sets
from tests.gpu import needs_gpu

BACKENDS = fast_backends("segment_iou")


def test_hand_checked_values():
    a = torch.tensor([[0.0, 10.0], [2.0, 2.0]])
    b = torch.tensor([[5.0, 15.0], [0.0, 10.0], [20.0, 30.0], [2.0, 2.0]])
    expected = torch.tensor([[5 / 15, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0]])  # a zero-length segment: zero intersection (or union)
    torch.testing.assert_close(segment_iou(a, b, backend="reference"), expected)


def test_length_offset_counts_frames_inclusively():
    # Frames [0, 1] and [1, 2] share frame 1: 1 / (2 + 2 - 1).
    a, b = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])
    assert segment_iou(a, b, length_offset=1.0, backend="reference").item() == pytest.approx(1 / 3)
    assert segment_iou(a, b, backend="reference").item() == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(data=segment_sets(), other=segment_sets(), offset=st.sampled_from([0.0, 1.0, 0.25, 0.1]))
def test_backend_equals_reference(backend, data, other, offset):
    a = data[0]
    b = other[0].to(a.dtype)
    expected = segment_iou(a, b, length_offset=offset, backend="reference")
    device = device_of(backend)
    got = segment_iou(a.to(device), b.to(device), length_offset=offset, backend=backend).cpu()
    assert got.dtype == a.dtype and got.shape == (a.shape[0], b.shape[0])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_non_multiple_of_tile(backend):
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(77, 2, generator=gen).sort(1).values * 50
    b = torch.rand(130, 2, generator=gen).sort(1).values * 50
    device = device_of(backend)
    torch.testing.assert_close(segment_iou(a.to(device), b.to(device), backend=backend).cpu(),
                               segment_iou(a, b, backend="reference"), rtol=0, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_non_dyadic_offset_in_the_segments_dtype(backend, dtype):
    # 0.1 is not a float32 number: float64 segments must add the float64 0.1, as the reference does.
    a = torch.tensor([[0.0, 0.3], [1.0, 1.7]], dtype=dtype)
    b = torch.tensor([[0.1, 0.2], [0.2, 1.3], [1.25, 3.0]], dtype=dtype)
    device = device_of(backend)
    got = segment_iou(a.to(device), b.to(device), length_offset=0.1, backend=backend).cpu()
    torch.testing.assert_close(got, segment_iou(a, b, length_offset=0.1, backend="reference"), rtol=0, atol=0)


@needs_gpu("needs a GPU (a 4.2 M-column launch)")
@pytest.mark.parametrize("backend", BACKENDS)
def test_more_columns_than_a_second_grid_axis_holds(backend):
    # 64 * 65 535 + 1 columns: more column tiles than a second grid axis may have.
    n = 64 * 65_535 + 1
    starts = torch.rand(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1000
    b = torch.stack([starts, starts + 3], 1)
    a = torch.tensor([[10.0, 20.0], [990.0, 1010.0]], dtype=torch.float64)
    got = segment_iou(a.cuda(), b.cuda(), backend=backend).cpu()
    torch.testing.assert_close(got, segment_iou(a, b, backend="cpu"), rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_empty_inputs(backend):
    device = device_of(backend)
    a = torch.zeros((0, 2), device=device)
    b = torch.tensor([[0.0, 1.0]], device=device)
    assert segment_iou(a, b, backend=backend).shape == (0, 1)
    assert segment_iou(b, a, backend=backend).shape == (1, 0)


@pytest.mark.parametrize("a, b, error, match", [
    ([[0.0, 1.0]], torch.tensor([[0.0, 1.0]]), TypeError, "a must be a torch.Tensor"),
    (torch.zeros(3), torch.zeros(1, 2), ValueError, "a must have 2 dimension"),
    (torch.zeros(3, 3), torch.zeros(1, 2), ValueError, "a must have last dimension 2"),
    (torch.zeros(1, 2, dtype=torch.int64), torch.zeros(1, 2), TypeError, "a must have dtype float32 or float64"),
    (torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.float64), TypeError, "b must have the dtype of a"),
    (torch.tensor([[2.0, 1.0]]), torch.zeros(1, 2), ValueError, "a must have end >= start, row 0"),
    (torch.zeros(1, 2), torch.tensor([[0.0, float("nan")]]), ValueError, "b must be finite"),
])
def test_bad_input(a, b, error, match):
    with pytest.raises(error, match=match):
        segment_iou(a, b)


def test_bad_length_offset():
    with pytest.raises(ValueError, match="length_offset must be finite"):
        segment_iou(torch.zeros(1, 2), torch.zeros(1, 2), length_offset=float("inf"))
