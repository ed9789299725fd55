"""Training configs: wrong types, NaN and hostile JSON are one line naming the setting."""

import json

import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.training.config import TrainConfig


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"seed": "one"}, "field 'seed' must be an integer"),
        ({"amp": "no"}, "field 'amp' must be true or false"),
        ({"pretrain": {"lr": "fast"}}, "field 'pretrain.lr' must be a number"),
        ({"pretrain": "x"}, "field 'pretrain' must be a JSON object"),
        ({"topk": [0]}, r"field 'topk\[0\]' must be between 1"),
        ({"finetune": {"batch_size": 0}}, "field 'finetune.batch_size' must be between 1"),
    ],
)
def test_bad_settings_name_the_field(tmp_path, change, match):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TrainConfig().to_dict(), **change}))
    with pytest.raises(ChoreoError, match=match) as info:
        TrainConfig.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_round_trip_and_nan_override(tmp_path):
    config = TrainConfig(seed=3)
    assert TrainConfig.load(config.save(tmp_path / "c.json")) == config
    with pytest.raises(ChoreoError, match="finite"):
        config.with_overrides({"pretrain.lr": "nan"})


def test_hostile_files(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    with pytest.raises(ChoreoError, match="nested"):
        TrainConfig.load(path)
    path.write_text("[1]")
    with pytest.raises(ChoreoError, match="must be a JSON object"):
        TrainConfig.load(path)
    with pytest.raises(ChoreoError, match="no such file"):
        TrainConfig.load(tmp_path / "missing.json")
