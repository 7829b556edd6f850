"""Under torchrun, LACP's sequence search, APN's pseudo-label refresh and both evaluations are split by video
over the ranks and gathered: two Gloo processes must get the labels and the mAP of one process."""
import os

import pytest
import torch
import torch.multiprocessing

from ptal.models import build_method, method_config
from ptal.train import end_distributed, init_distributed, train
from tests.tiny import TINY_APN, TINY_LACP
from tests.train.test_distributed import free_port

WORLD_SIZE = 2
CONFIGS = {"lacp": [o for o in TINY_LACP if not o.startswith("train.")] + ["search.batch_videos=24"],
           "apn": ["model.name=apn", *(o for o in TINY_APN if not o.startswith("train.")), "pseudo.batch_videos=24"]}


def pseudo_labels(method) -> list[torch.Tensor]:
    if method.name == "lacp":
        method.search()
        return [label.cpu() for label in method.pseudo_labels]
    method.refresh_pseudo_labels()
    return [method.pseudo.instances, method.pseudo.background]


def worker(rank: int, world_size: int, port: int, out_dir: str, family: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    context = init_distributed()
    config = method_config(None, [*CONFIGS[family], "train.progress=false", "train.iterations=2", "train.eval_every=2",
                                  f"train.out_dir={out_dir}/run"])
    method = build_method(config, "cpu")
    method.setup_distributed(context)
    labels, metrics = pseudo_labels(method), method.evaluate()
    summary = train(method, config.train)  # the trainer's evaluation runs on both ranks
    torch.save({"labels": labels, "metrics": metrics, "summary": summary}, os.path.join(out_dir, f"rank{rank}.pt"))
    end_distributed()  # a barrier first: Gloo aborts a process whose peer leaves early


@pytest.mark.parametrize("family", ["lacp", "apn"])
def test_two_processes_share_the_work_and_get_the_labels_and_map_of_one(tmp_path, family):
    torch.multiprocessing.spawn(worker, args=(WORLD_SIZE, free_port(), str(tmp_path), family), nprocs=WORLD_SIZE)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD_SIZE)]

    single = build_method(method_config(None, CONFIGS[family]), "cpu")
    expected_labels, expected_metrics = pseudo_labels(single), single.evaluate()
    for result in ranks:
        assert len(result["labels"]) == len(expected_labels)
        assert all(torch.equal(a, b) for a, b in zip(result["labels"], expected_labels))
        assert result["metrics"].keys() == expected_metrics.keys()
        for name, value in expected_metrics.items():
            assert result["metrics"][name] == pytest.approx(value, abs=1e-9), name
    assert ranks[0]["summary"] == ranks[1]["summary"] and ranks[0]["summary"]["final_iteration"] == 2
