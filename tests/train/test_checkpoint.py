import random

import numpy as np
import pytest
import torch

from ptal.train import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
    seed_everything,
)
from ptal.train.checkpoint import CHECKPOINT_FORMAT
from tests.train.toy import make_toy


def save_toy(path, iteration: int = 3, method=None):
    method = method or make_toy()
    optimizer = torch.optim.Adam(method.model.parameters())
    method.model(method.inputs).sum().backward()
    optimizer.step()
    save_checkpoint(path, model=method.model, optimizer=optimizer, method_state=method.state_dict(),
                    iteration=iteration, config={"train": {"lr": 1e-4, "betas": (0.9, 0.999)}},
                    rng=[capture_rng_state()], trainer_state={"best_value": None})
    return method, optimizer


def test_round_trip_loads_with_weights_only(tmp_path):
    method, optimizer = save_toy(tmp_path / "last.pt")
    assert torch.load(tmp_path / "last.pt", weights_only=True)["format"] == CHECKPOINT_FORMAT
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert checkpoint["iteration"] == 3
    assert checkpoint["config"] == {"train": {"lr": 1e-4, "betas": (0.9, 0.999)}}
    for name, tensor in method.model.state_dict().items():
        assert torch.equal(checkpoint["model"][name], tensor)
    assert torch.equal(checkpoint["optimizer"]["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(checkpoint["method"]["sampler"], method.sampler.get_state())


def test_a_ddp_wrapped_model_is_saved_without_the_module_prefix(tmp_path):
    method = make_toy()

    class Wrapper(torch.nn.parallel.DistributedDataParallel):
        def __init__(self, module):  # no process group needed to hold a module
            torch.nn.Module.__init__(self)
            self.module = module

    optimizer = torch.optim.Adam(method.model.parameters())
    save_checkpoint(tmp_path / "c.pt", model=Wrapper(method.model), optimizer=optimizer, method_state={},
                    iteration=0, config={}, rng=[])
    assert set(load_checkpoint(tmp_path / "c.pt")["model"]) == set(method.model.state_dict())


def test_a_crash_while_saving_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_toy(path, iteration=1)
    before = path.read_bytes()

    def crash(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_toy(path, iteration=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # the temporary file is gone
    assert load_checkpoint(path)["iteration"] == 1


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    save_toy(tmp_path / "last.pt")
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt, or holds objects other than plain data"):
        load_checkpoint(tmp_path / "last.pt")


@pytest.mark.parametrize("content", [b"\x00" * 100, bytes(range(256)) * 8, b"PK\x03\x04garbage"])
def test_corrupt_files_give_no_unsafe_advice(tmp_path, content):
    """torch's own error suggests weights_only=False (which would run the file's code): never passed on."""
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "bad.pt")
    assert "weights_only" not in str(error.value) and "bad.pt" in str(error.value)


def test_objects_beyond_plain_data_are_refused(tmp_path):
    torch.save({"format": CHECKPOINT_FORMAT, "model": torch.nn.Linear(1, 1)}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="objects other than plain data"):
        load_checkpoint(tmp_path / "pickled.pt")


def test_other_torch_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="not a ptal training checkpoint"):
        load_checkpoint(tmp_path / "weights.pt")
    torch.save({"format": CHECKPOINT_FORMAT, "iteration": 1}, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="missing model, optimizer"):
        load_checkpoint(tmp_path / "partial.pt")


def draw_from_every_generator():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), np.random.randn(), [random.random() for _ in range(3)]


def test_rng_state_survives_a_checkpoint(tmp_path):
    method = make_toy()
    seed_everything(5)
    np.random.randn()  # leaves a cached Gaussian in NumPy's state
    random.gauss(0, 1)  # and in Python's
    save_toy(tmp_path / "last.pt", method=method)
    expected = draw_from_every_generator()
    seed_everything(123)
    restore_rng_state(load_checkpoint(tmp_path / "last.pt")["rng"][0])
    assert draw_from_every_generator() == expected
