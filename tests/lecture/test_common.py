"""The lecture's configs: --config must exist, --set is checked against the experiment's settings."""

from __future__ import annotations

import pytest

from tenuki.commands.main import main
from tenuki.lecture import cnn
from tenuki.lecture.common import LectureError, config_schema, load_experiment_config


def test_a_missing_config_file_is_an_error_not_the_defaults(tmp_path):
    with pytest.raises(LectureError, match=f"cannot read config {tmp_path}/nope.yaml"):
        load_experiment_config("cnn", False, tmp_path / "nope.yaml")


def test_the_command_says_so_in_one_line_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cnn, "run", lambda *a, **k: pytest.fail("trained"))
    assert main(["lecture", "run", "cnn", "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tenuki lecture run: cannot read config {tmp_path}/nope.yaml: no such file"


def test_set_overrides_apply_after_quick_with_the_shipped_types():
    config = load_experiment_config("cnn", True, None, ["epochs=2", "conv_channels=[4, 8]", "threshold=1",
                                                        "train_limit=null"], cnn.DEFAULTS)
    assert config["epochs"] == 2 and config["conv_channels"] == [4, 8]
    assert config["threshold"] == 1.0 and isinstance(config["threshold"], float)
    assert config["train_limit"] is None  # null in the shipped config: any value
    assert config["learning_rate"] == 0.003  # quick's value kept


@pytest.mark.parametrize("item, message", [
    ("epochz=2", "--set epochz: unknown key (allowed: batch_size"), ("epochs=two", "--set epochs: expected an integer"),
    ("epochs=true", "--set epochs: expected an integer"), ("conv_channels=8", "--set conv_channels: expected a list"),
    ("learning_rate=fast", "--set learning_rate: expected a number"), ("epochs", "--set epochs: expected KEY=VALUE with a dotted KEY, e.g. --set epochs=2")])
def test_a_bad_set_item_is_named(item, message):
    with pytest.raises(LectureError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        load_experiment_config("cnn", False, None, [item], cnn.DEFAULTS)


def test_an_unknown_key_in_a_config_file_is_named(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("epochs: 2\nepoch: 3\n")
    with pytest.raises(LectureError, match="mine.yaml: epoch: unknown key"):
        load_experiment_config("cnn", False, path, None, cnn.DEFAULTS)


def test_every_experiment_has_settings_to_check_against():
    from tenuki.lecture.registry import EXPERIMENTS, experiment

    for name in EXPERIMENTS:
        schema = config_schema(name, getattr(experiment(name), "DEFAULTS", None))
        assert schema and "seed" in schema, name
