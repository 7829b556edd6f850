import re

import pytest

from ptal.train import ConfigError, TrainSettings, config_from_dict, load_config

DEFAULTS = {
    "train": TrainSettings().to_config(),
    "model": {"name": "lacp", "hidden": 2048, "dropout": 0.7, "search_freq": 10, "classes": ["a", "b"]},
    "data": {"root": None},
}


def write(tmp_path, text: str):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_defaults_alone_are_returned_as_a_copy():
    config = load_config(None, [], DEFAULTS)
    assert config == DEFAULTS
    config["train"]["lr"] = 1.0
    assert DEFAULTS["train"]["lr"] == 1e-4


def test_file_then_overrides_in_order(tmp_path):
    path = write(tmp_path, "train:\n  lr: 3e-4\n  iterations: 100\nmodel:\n  dropout: 0.5\n")
    config = load_config(path, ["train.iterations=50", "model.name=apn", "train.iterations=60"], DEFAULTS)
    assert config["train"]["lr"] == 3e-4 and isinstance(config["train"]["lr"], float)
    assert config["train"]["iterations"] == 60
    assert config["model"] == {**DEFAULTS["model"], "dropout": 0.5, "name": "apn"}
    assert config["train"]["weight_decay"] == 5e-4


@pytest.mark.parametrize("override, key, expected", [
    ("train.lr=1e-3", "lr", 1e-3),
    ("train.lr=2", "lr", 2.0),
    ("train.amp=true", "amp", True),
    ("train.betas=[0.5, 0.9]", "betas", (0.5, 0.9)),
    ("train.out_dir=runs/2024", "out_dir", "runs/2024"),
    ("train.select_by=yes", "select_by", "yes"),  # string keys take the text as written
    ("train.select_by=mAP@0.5", "select_by", "mAP@0.5"),
])
def test_override_values_are_parsed_as_yaml_and_fitted_to_the_default(override, key, expected):
    value = load_config(None, [override], DEFAULTS)["train"][key]
    assert value == expected and type(value) is type(expected)


def test_a_default_of_none_accepts_anything_and_sections_merge(tmp_path):
    config = load_config(write(tmp_path, "data: {root: /data}\n"), ["model={hidden: 16}"], DEFAULTS)
    assert config["data"]["root"] == "/data"
    assert config["model"]["hidden"] == 16 and config["model"]["name"] == "lacp"


def test_empty_file_means_defaults(tmp_path):
    assert load_config(write(tmp_path, ""), [], DEFAULTS) == DEFAULTS


@pytest.mark.parametrize("text, message", [
    ("train:\n  lrr: 1\n", "unknown key 'train.lrr'"),
    ("optim:\n  lr: 1\n", "unknown key 'optim'"),
    ("train: 3\n", "'train' is a section"),
    ("train:\n  iterations: 1.5\n", "'train.iterations' must be an integer"),
    ("train:\n  amp: 1\n", "'train.amp' must be true or false"),
    ("train:\n  lr: fast\n", "'train.lr' must be a number"),
    ("train:\n  betas: [0.9]\n", "'train.betas' needs 2 values"),
    ("train:\n  betas: [0.9, high]\n", "'train.betas[1]' must be a number"),
    ("model:\n  classes: a\n", "'model.classes' must be a list"),
    ("- a\n- b\n", "expected a mapping"),
    ("train: [unclosed\n", "not valid YAML"),
])
def test_file_errors_name_the_key_and_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_config(path, [], DEFAULTS)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("override, message", [
    ("train.lrr=1", "unknown key 'train.lrr'"),
    ("trian.lr=1", "unknown key 'trian'"),
    ("train.lr.x=1", "'train.lr' is a value, not a section"),
    ("train=1", "'train' is a section"),
    ("train.lr", "expected key=value"),
    ("=3", "expected key=value"),
    ("train.iterations=true", "'train.iterations' must be an integer"),
    ("train.lr=[1", "not valid YAML"),
    ("train.iterations=9223372036854775808", "'train.iterations' must be an integer a 64-bit int can hold"),
    ("train.seed=-9223372036854775809", "'train.seed' must be an integer a 64-bit int can hold"),
])
def test_override_errors_name_the_key_and_the_override(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_config(None, [override], DEFAULTS)
    assert repr(override) in str(raised.value)


def test_unknown_key_message_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known keys: name, hidden, dropout"):
        load_config(None, ["model.hiden=3"], DEFAULTS)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot read it"):
        load_config(tmp_path / "nope.yaml", [], DEFAULTS)


def test_train_settings_from_the_config_section():
    settings = TrainSettings.from_config(load_config(None, ["train.betas=[0.8, 0.99]"], DEFAULTS)["train"])
    assert settings.betas == (0.8, 0.99) and settings.iterations == 2000
    with pytest.raises(ValueError, match="unknown train settings: epochs"):
        TrainSettings.from_config({"epochs": 3})


@pytest.mark.parametrize("changes, message", [
    ({"iterations": 0}, "train.iterations must be an integer >= 1"),
    ({"eval_every": 2.5}, "train.eval_every must be an integer"),
    ({"seed": -1}, "train.seed must be an integer >= 0"),
    ({"lr": 0.0}, "train.lr must be > 0"),
    ({"weight_decay": -1.0}, "train.weight_decay must be >= 0"),
    ({"betas": (0.9, 1.0)}, "train.betas must be two numbers"),
    ({"select_by": ""}, "must not be empty"),
])
def test_train_settings_reject_bad_values(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainSettings(**changes)


@pytest.mark.parametrize("value, fits", [(2**63 - 1, True), (2**63, False), (10**59, False)])
def test_a_stored_integer_setting_must_fit_64_bits(value, fits):
    """A checkpoint's config (config_from_dict) with an integer no tensor holds is an error naming the key, not an
    OverflowError when inference uses it."""
    from ptal.models.lacp.config import LacpConfig
    values = {"inference": {"max_per_video": value}}
    if fits:
        assert config_from_dict(LacpConfig, values).inference.max_per_video == value
    else:
        with pytest.raises(ConfigError, match=r"inference.max_per_video must be an integer, got \d+"):
            config_from_dict(LacpConfig, values)


def test_a_stored_whole_number_for_a_number_setting_becomes_a_float():
    """loss.video = -2**63 - 1 (an int) in a checkpoint trained as a float, not an OverflowError in the loss."""
    from ptal.models.lacp.config import LacpConfig
    config = config_from_dict(LacpConfig, {"loss": {"video": -2**63 - 1}, "inference": {"class_threshold": 0}})
    assert isinstance(config.loss.video, float) and config.loss.video == float(-2**63 - 1)
    assert isinstance(config.inference.class_threshold, float)
    config = config_from_dict(LacpConfig, {"train": {"betas": [0, 0.999]}})  # Adam refuses an int beside a float
    assert config.train.betas == (0.0, 0.999) and all(isinstance(beta, float) for beta in config.train.betas)
