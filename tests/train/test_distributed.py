import socket

import torch
import torch.multiprocessing

from ptal.train import read_run_log, train
from tests.train.toy import distributed_worker, make_toy, settings_for

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ddp_on_two_gloo_processes_equals_one_process_on_the_whole_batch(tmp_path):
    iterations = 8
    torch.multiprocessing.spawn(distributed_worker, args=(WORLD_SIZE, free_port(), str(tmp_path / "ddp"), iterations),
                                nprocs=WORLD_SIZE)
    ranks = [torch.load(tmp_path / "ddp" / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD_SIZE)]

    for name, tensor in ranks[0]["parameters"].items():
        assert torch.equal(ranks[1]["parameters"][name], tensor)  # DDP keeps the ranks identical
    assert ranks[0]["summary"] == ranks[1]["summary"]

    # Each rank took half of the same batch of 8 and DDP averaged the gradients: the steps are those of
    # one process on the whole batch, up to the order of floating-point sums.
    single = make_toy(dropout=0.0)
    single_summary = train(single, settings_for(tmp_path / "single", iterations=iterations))
    for name, tensor in single.model.state_dict().items():
        torch.testing.assert_close(ranks[0]["parameters"][name], tensor, rtol=1e-10, atol=1e-12)
    assert ranks[0]["summary"]["best_iteration"] == single_summary["best_iteration"]

    distributed_log, single_log = read_run_log(tmp_path / "ddp" / "log.jsonl"), read_run_log(tmp_path / "single" / "log.jsonl")
    assert [r["iteration"] for r in distributed_log] == [r["iteration"] for r in single_log] == [2, 4, 6, 8]
    for distributed_record, single_record in zip(distributed_log, single_log):
        # Logged losses are means over the ranks, i.e. over the whole batch.
        assert abs(distributed_record["loss"] - single_record["loss"]) <= 1e-10 * abs(single_record["loss"])
    assert sorted(path.name for path in (tmp_path / "ddp").iterdir()) == ["best.pt", "last.pt", "log.jsonl",
                                                                          "rank0.pt", "rank1.pt"]
    checkpoint = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert len(checkpoint["rng"]) == WORLD_SIZE
