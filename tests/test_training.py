"""The shared training loop: resume equivalence, atomic checkpoints, NaN stop, schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from asgn2.training import (
    NonFiniteLossError,
    TrainConfig,
    _lr_factor,
    load_checkpoint,
    load_trained,
    save_checkpoint,
    train,
)


def make_data(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=g)
    return x, x @ torch.randn(5, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))


def noisy_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    x = x + 0.01 * torch.randn_like(x)  # draws from the global RNG, like dequantization noise does
    return ((model(x) - y) ** 2).mean()


CONFIG = TrainConfig(epochs=4, batch_size=16, lr=1e-2, warmup_steps=3, seed=7, checkpoint_every=5)


def test_resume_equals_uninterrupted(tmp_path):
    data = make_data()  # 6 steps per epoch, 24 in all: the pause at 10 falls inside epoch 2
    straight = train(make_model(0), noisy_loss, data, CONFIG, checkpoint=tmp_path / "a.pt")

    first = train(make_model(0), noisy_loss, data, CONFIG, checkpoint=tmp_path / "b.pt", pause_at_step=10)
    assert first.steps == 10 and not first.done
    resumed_model = make_model(123)  # different initial weights: everything must come from the checkpoint
    resumed = train(resumed_model, noisy_loss, data, CONFIG, checkpoint=tmp_path / "b.pt")

    assert resumed.done and resumed.steps == straight.steps == 24
    assert resumed.step_loss == straight.step_loss
    a, b = load_checkpoint(tmp_path / "a.pt")["model"], resumed_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(resumed.epoch_loss) == 4


def test_finished_checkpoint_is_reused(tmp_path):
    data = make_data()
    history = train(make_model(0), noisy_loss, data, CONFIG, checkpoint=tmp_path / "c.pt")
    model = make_model(5)
    again = train(model, noisy_loss, data, CONFIG, checkpoint=tmp_path / "c.pt")
    assert again.step_loss == history.step_loss
    loaded = load_trained(make_model(9), tmp_path / "c.pt")
    assert loaded is not None and loaded[1].done
    assert load_trained(make_model(9), tmp_path / "missing.pt") is None


def test_atomic_checkpoint_survives_failed_write(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"value": torch.tensor(1.0)}, path)

    def broken_save(obj, f):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"value": torch.tensor(2.0)}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["value"].item() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary file left behind


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    data = make_data()
    calls = {"n": 0}

    def loss_turning_nan(model, batch):
        calls["n"] += 1
        loss = noisy_loss(model, batch)
        return loss * float("nan") if calls["n"] == 8 else loss

    config = TrainConfig(epochs=4, batch_size=16, lr=1e-2, checkpoint_every=3)
    with pytest.raises(NonFiniteLossError, match="step 7"):
        train(make_model(0), loss_turning_nan, data, config, checkpoint=tmp_path / "n.pt")
    state = load_checkpoint(tmp_path / "n.pt")
    assert len(state["history"]["step_loss"]) == 6 and not state["history"]["done"]
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_cosine_schedule_warms_up_and_decays_to_zero():
    config = TrainConfig(epochs=1, batch_size=16, lr=0.1, warmup_steps=2, schedule="cosine")
    factor = _lr_factor(config, total_steps=6)
    assert [factor(s) for s in range(2)] == [0.5, 1.0]
    assert factor(5) == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 4)))
    assert factor(6) == pytest.approx(0.0, abs=1e-12)
    assert _lr_factor(TrainConfig(schedule="constant"), 6)(5) == 1.0
    with pytest.raises(ValueError, match="schedule must be"):
        _lr_factor(TrainConfig(schedule="linear"), 6)


def test_eval_fn_and_time_budget(tmp_path):
    seen: list[int] = []

    def eval_fn(model):
        seen.append(1)
        return {"metric": 1.0}

    config = TrainConfig(epochs=100, batch_size=16, eval_every=4, time_budget_s=0.0)
    history = train(make_model(0), noisy_loss, make_data(), config, eval_fn=eval_fn)
    assert history.steps == 1 and history.done  # the budget stops after the first step
    assert history.evals == [{"step": 1.0, "metric": 1.0}] and len(seen) == 1


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ((torch.zeros(10, 2), torch.zeros(9)), "same first dimension"),
        (torch.zeros(4, 2), "at least batch_size"),
    ],
)
def test_bad_data(data, match):
    with pytest.raises(ValueError, match=match):
        train(make_model(0), noisy_loss, data, TrainConfig(batch_size=8))


def test_checkpoint_of_another_configuration_gives_clear_error(tmp_path):
    data = make_data()
    train(make_model(0), noisy_loss, data, CONFIG, checkpoint=tmp_path / "c.pt")
    wider = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Dropout(0.2), nn.Linear(32, 1))
    with pytest.raises(ValueError, match="another configuration.*delete it"):
        load_trained(wider, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="another configuration"):
        train(wider, noisy_loss, data, CONFIG, checkpoint=tmp_path / "c.pt")


def test_progress_bar_text_mode_for_unattended_notebooks(monkeypatch, capsys):
    from tqdm.std import tqdm as text_tqdm

    from asgn2.training import progress_bar

    monkeypatch.setenv("ASGN2_PROGRESS", "text")
    bar = progress_bar(3, 0, "demo")
    assert type(bar) is text_tqdm  # not the notebook widget, whose saved state would be "0%"
    bar.update(3)
    bar.close()
    assert "demo: 100%" in capsys.readouterr().out
    monkeypatch.setenv("ASGN2_PROGRESS", "0")
    assert progress_bar(3, 0, "demo").disable
