"""Training checkpoints: safetensors + JSON (no pickle), exact resume state, one-line refusals."""

import json
import re
from pathlib import Path

import pytest
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.training.checkpoints import StageState, load_checkpoint, save_checkpoint
from safetensors.torch import load_file, save_file


def _setup(seed=0, width=4):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.BatchNorm1d(width))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return net, opt, sched


def _train_step(net, opt, sched):
    loss = net(torch.randn(8, 3)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


@pytest.fixture()
def saved(tmp_path):
    net, opt, sched = _setup()
    for _ in range(3):
        _train_step(net, opt, sched)
    state = StageState(3, [{"loss": 1.5}, {"loss": float("nan")}],
                       {"m": torch.eye(3), "labels": torch.arange(4)})
    path = save_checkpoint(tmp_path / "c.safetensors", modules={"net": net}, optimizer=opt,
                           scheduler=sched, scaler=None, state=state)
    return path, net, opt, sched


def test_round_trip_restores_everything(saved):
    path, net, opt, sched = saved
    expected_rng = torch.get_rng_state()
    fresh, fresh_opt, fresh_sched = _setup(seed=1)
    state = load_checkpoint(path, modules={"net": fresh}, optimizer=fresh_opt,
                            scheduler=fresh_sched, scaler=None)
    assert state.epoch == 3 and state.history[0] == {"loss": 1.5}
    assert state.history[1]["loss"] != state.history[1]["loss"]  # NaN kept in the history
    assert torch.equal(state.extras["m"], torch.eye(3))
    assert torch.equal(state.extras["labels"], torch.arange(4))
    for a, b in zip(net.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert fresh_sched.state_dict() == sched.state_dict()
    assert fresh_opt.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    for key, value in opt.state_dict()["state"].items():
        for name, tensor in value.items():
            assert torch.equal(fresh_opt.state_dict()["state"][key][name], tensor)
    assert torch.equal(torch.get_rng_state(), expected_rng)
    _train_step(net, opt, sched)
    torch.set_rng_state(expected_rng)
    _train_step(fresh, fresh_opt, fresh_sched)  # same state, same numbers: same next step
    for a, b in zip(net.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)


def _load(path, width=4):
    net, opt, sched = _setup(width=width)
    with pytest.raises(ChoreoError) as info:
        load_checkpoint(path, modules={"net": net}, optimizer=opt, scheduler=sched, scaler=None)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_pickle_checkpoint_is_refused_in_one_line(tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(200))  # the start of a torch zip/pickle file
    assert "not a Choreo Studio checkpoint" in _load(path)


def test_wrong_network_shape(saved):
    message = _load(saved[0], width=5)
    assert "does not fit this net" in message and "wrong shape" in message


def test_nan_weights_are_refused(saved, tmp_path):
    path = saved[0]
    tensors = load_file(str(path))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        metadata = fh.metadata()
    state = json.loads(metadata["choreo_state"])
    weight = state["__dict__"]["modules"]["__dict__"]["net"]["__dict__"]["0.weight"]["__tensor__"]
    tensors[weight][0, 0] = float("nan")
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata=metadata)
    assert "NaN" in _load(tmp_path / "nan.safetensors")


@pytest.mark.parametrize("damage", ["truncate", "nested", "garbage-state", "no-state"])
def test_damaged_files(saved, tmp_path, damage):
    path = saved[0]
    target = tmp_path / "bad.safetensors"
    if damage == "truncate":
        data = path.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    else:
        state = {"nested": "[" * 10_000 + "]" * 10_000, "garbage-state": '{"__eval__": "x"}'}
        metadata = {"choreo_state": state[damage]} if damage in state else {"other": "x"}
        save_file(load_file(str(path)), str(target), metadata=metadata)
    _load(target)


def test_no_pickle_in_the_sources():
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(
        r"torch\.(load|save)\(|^\s*import pickle|^\s*from pickle|allow_pickle=True", re.MULTILINE)
    offenders = [
        str(p.relative_to(root))
        for folder in ("core", "training", "editor", "resources", "benchmarks")
        for p in (root / folder).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
