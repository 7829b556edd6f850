"""The 0/1 masks of select_seeds and optimal_sequence_search, packed and checked in one pass: the C++ pass held
to the torch reference (masks, reductions and the first invalid entry), and the errors the ops raise."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops._binary_masks import BACKENDS, binary_masks
from ptal_core.reference.binary_masks import NOT_BINARY, PAST_LENGTH

FAST = [param for param in ("cpu",) if BACKENDS.cpu is not None]


@st.composite
def masks(draw):
    """(values (B, T, K), lengths (B,)): mostly 0/1 in some dtype, now and then a value that is neither or a
    nonzero past a video's length."""
    batch, time, inner = draw(st.integers(0, 4)), draw(st.integers(0, 30)), draw(st.integers(0, 25))
    dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.bool, torch.int64]))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    values = (torch.rand((batch, time, inner), generator=gen) < draw(st.sampled_from([0.0, 0.05, 0.5])))
    values = values.to(dtype)
    lengths = torch.randint(0, time + 1, (batch,), generator=gen)
    keep_inside = draw(st.booleans())
    if keep_inside:
        values[torch.arange(time) >= lengths[:, None]] = 0
    if values.numel() and dtype != torch.bool and draw(st.booleans()):
        flat = values.view(-1)
        flat[torch.randint(0, flat.numel(), (1,), generator=gen)] = draw(st.sampled_from([2, 3]))
        if dtype.is_floating_point and draw(st.booleans()):
            flat[torch.randint(0, flat.numel(), (1,), generator=gen)] = draw(
                st.sampled_from([0.5, -1.0, float("nan"), float("inf")]))
    return values, lengths


@pytest.mark.parametrize("backend", FAST)
@settings(max_examples=300, deadline=None)
@given(data=masks(), check=st.booleans())
def test_backend_equals_reference(backend, data, check):
    values, lengths = data
    got = getattr(BACKENDS, backend)(values, lengths, check)
    expected = BACKENDS.reference(values, lengths, check)
    for mine, theirs in zip(got[:3], expected[:3]):
        assert mine.dtype == torch.uint8 and torch.equal(mine, theirs)
    assert got[3] == expected[3]


def test_reference_on_a_hand_checked_case():
    values = torch.tensor([[[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 1.0], [0.0, 0.0]]])
    masks_, any_inner, any_time, error = BACKENDS.reference(values, torch.tensor([3, 1]), True)
    assert masks_.tolist() == [[[0, 1], [0, 0], [1, 0]], [[0, 0], [1, 1], [0, 0]]]
    assert any_inner.tolist() == [[1, 0, 1], [0, 1, 0]] and any_time.tolist() == [[1, 1], [1, 1]]
    assert error == (NOT_BINARY, 8)  # [1, 1, 0] holds 2 and is past video 1's length: not binary wins
    assert BACKENDS.reference(values.clamp(max=1), torch.tensor([3, 1]), True)[3] == (PAST_LENGTH, 8)
    assert BACKENDS.reference(values, torch.tensor([3, 1]), False)[3] is None


@pytest.mark.parametrize("backend", ["reference", *FAST])
def test_errors_name_the_argument_and_the_entry(backend):
    lengths = torch.tensor([4, 2])
    values = torch.zeros(2, 4, 3)
    values[1, 1, 2] = 0.5
    with pytest.raises(ValueError, match=r"act_seed must hold only 0 and 1, act_seed\[1, 1, 2\] is 0.5"):
        binary_masks("act_seed", values, lengths, backend, True)
    values[1, 1, 2] = 0
    values[1, 3, 0] = 1
    with pytest.raises(ValueError, match="points: video 1 has a nonzero entry at snippet 3, past its length 2"):
        binary_masks("points", values, lengths, backend, True)
    with pytest.raises(ValueError, match=r"bkg_seed must hold only 0 and 1, bkg_seed\[0, 1\] is nan"):
        binary_masks("bkg_seed", torch.tensor([[0.0, float("nan")]]), torch.tensor([2]), backend, True)
    masks_, _, _ = binary_masks("points", values, lengths, backend, False)  # unchecked: no error, values != 0
    assert masks_[1, 3, 0] == 1
