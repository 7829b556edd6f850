"""The shared trainer of ptal's model families: configs, the training loop, checkpoints, DDP."""
from ptal.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ptal.train.config import ConfigError, config_from_dict, config_to_dict, config_yaml, load_config, load_typed_config
from ptal.train.distributed import (DistributedContext, all_gather, end_distributed, init_distributed, shard_blocks,
                                    unwrap_model)
from ptal.train.loop import TIMING_FIELDS, TrainSettings, train
from ptal.train.method import Method
from ptal.train.rng import capture_rng_state, restore_rng_state, seed_everything
from ptal.train.run_log import read_run_log
from ptal.train.sync import explicit_sync

__all__ = [
    "TIMING_FIELDS",
    "CheckpointError",
    "ConfigError",
    "DistributedContext",
    "Method",
    "TrainSettings",
    "all_gather",
    "capture_rng_state",
    "config_from_dict",
    "config_to_dict",
    "config_yaml",
    "explicit_sync",
    "end_distributed",
    "init_distributed",
    "load_checkpoint",
    "load_config",
    "load_typed_config",
    "read_run_log",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "shard_blocks",
    "train",
    "unwrap_model",
]
