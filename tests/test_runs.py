import torch
from hypothesis import given, strategies as st

from ptal_core.runs import runs


def test_hand_checked():
    mask = torch.tensor([1, 1, 0, 1, 0, 0, 1], dtype=torch.bool)
    assert runs(mask).tolist() == [[0, 1], [3, 3], [6, 6]]
    assert runs(torch.zeros(4, dtype=torch.bool)).shape == (0, 2)
    assert runs(torch.zeros(0, dtype=torch.bool)).shape == (0, 2)


@given(st.lists(st.booleans(), max_size=40))
def test_runs_cover_exactly_the_true_positions(values):
    found = runs(torch.tensor(values, dtype=torch.bool)).tolist()
    covered = [i for start, end in found for i in range(start, end + 1)]
    assert covered == [i for i, v in enumerate(values) if v]
    assert all(next_start > end + 1 for (_, end), (next_start, _) in zip(found, found[1:]))  # maximal
