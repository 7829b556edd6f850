"""Tiny networks and runs of both model families: the whole pipeline, in seconds."""
TINY_LACP = ["data.feature_dim=8", "model.hidden=16", "train.iterations=12", "train.eval_every=12", "train.progress=false"]
TINY_APN = ["data.feature_dim=8", "model.embed_dim=16", "model.bdm_hidden=16", "model.pem_dim=8", "model.pem_heads=2",
            "model.num_samples=4", "proposals.max_proposals=20", "proposals.train_per_window=4",
            "train.iterations=12", "train.eval_every=12", "train.progress=false", "inference.batch_windows=64"]
