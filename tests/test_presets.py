"""Network presets hold only what builds a network; old bundles' retired fields still load."""

import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.presets import Preset, get_preset
from choreo_studio.training.config import preset_config


def test_a_preset_written_by_an_earlier_version_still_loads():
    tiny = get_preset("tiny")
    old = tiny.to_dict()
    old["network"].update(input_size=128, f_t_length=4)
    old["training"] = {"pretrain_optimizer": "adam", "finetune_optimizer": "sgd",
                       "pretrain_epochs": 20}
    assert Preset.from_dict(old) == tiny


def test_an_unknown_network_field_is_still_refused():
    data = get_preset("tiny").to_dict()
    data["network"]["width_multiplier"] = 2
    with pytest.raises(ChoreoError, match="newer version"):
        Preset.from_dict(data)


def test_a_preset_writes_no_training_block():
    assert set(get_preset("paper").to_dict()) == {"name", "description", "network"}


@pytest.mark.parametrize("name", ["paper", "cpu", "tiny", "real"])
def test_training_presets_name_a_network_preset(name):
    assert get_preset(preset_config(name).network_preset).name in ("paper", "tiny")
