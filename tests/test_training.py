"""The shared training loop and checkpoints: resume equivalence, atomic checkpoints, NaN stop, the schedule that
follows whichever limit binds, checkpoints that refuse another run specification."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from asgn2.checkpoints import Checkpoint, DamagedCheckpointError, SpecMismatchError, load_checkpoint, save_checkpoint
from asgn2.runs import fit_or_load
from asgn2.training import NonFiniteLossError, TrainConfig, lr_factor, run_progress, train


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


def checkpoint(path, config: TrainConfig = CONFIG) -> Checkpoint:
    return Checkpoint(path, {"model": "tiny", "train": dataclasses.asdict(config)})


def test_resume_equals_uninterrupted(tmp_path, capsys):
    data = make_data()  # 6 steps per epoch, 24 in all: the pause at 10 falls inside epoch 2
    straight = train(make_model(0), noisy_loss, data, CONFIG, checkpoint=checkpoint(tmp_path / "a.pt"))

    calls = {"n": 0}

    def interrupted_at_step_11(model, batch):  # Ctrl-C during step 11: the checkpoint holds the 10 steps done
        calls["n"] += 1
        if calls["n"] == 11:
            raise KeyboardInterrupt
        return noisy_loss(model, batch)

    with pytest.raises(KeyboardInterrupt):
        train(make_model(0), interrupted_at_step_11, data, CONFIG, checkpoint=checkpoint(tmp_path / "b.pt"))
    first = load_checkpoint(tmp_path / "b.pt")["history"]
    assert len(first["step_loss"]) == 10 and not first["stopped_by"]
    resumed_model = make_model(123)  # different initial weights: everything must come from the checkpoint
    capsys.readouterr()
    resumed = train(resumed_model, noisy_loss, data, CONFIG, checkpoint=checkpoint(tmp_path / "b.pt"))
    assert "resuming from step 10 of" in capsys.readouterr().out  # a resumed run says so, and from where

    assert resumed.done and resumed.steps == straight.steps == 24 and resumed.stopped_by == "steps"
    assert resumed.step_loss == straight.step_loss
    a, b = load_checkpoint(tmp_path / "a.pt")["model"], resumed_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_finished_run_is_reused_for_the_same_spec(tmp_path):
    data, ckpt = make_data(), checkpoint(tmp_path / "c.pt")
    fitted = make_model(0)
    _, history = fit_or_load(fitted, ckpt, lambda: train(fitted, noisy_loss, data, CONFIG, checkpoint=ckpt))
    loaded, again = fit_or_load(make_model(5), ckpt, lambda: pytest.fail("must not train again"))
    assert again.step_loss == history.step_loss and again.done
    assert all(
        torch.equal(a, b) for a, b in zip(fitted.state_dict().values(), loaded.state_dict().values(), strict=True)
    )


def test_stale_checkpoint_is_refused_with_what_differs(tmp_path):
    """Hole 1: a finished run of another learning rate was served silently before."""
    data, path = make_data(), tmp_path / "s.pt"
    model = make_model(0)
    fit_or_load(model, checkpoint(path), lambda: train(model, noisy_loss, data, CONFIG, checkpoint=checkpoint(path)))
    other = dataclasses.replace(CONFIG, lr=5e-3)
    with pytest.raises(SpecMismatchError, match=r"train\.lr: 0\.01 -> 0\.005.*retrain"):
        fit_or_load(make_model(0), checkpoint(path, other), lambda: pytest.fail("must not train"))
    with pytest.raises(SpecMismatchError, match="train.lr"):  # nor is an unfinished one of another spec resumed
        train(make_model(0), noisy_loss, data, other, checkpoint=checkpoint(path, other))
    model = make_model(0)
    _, history = fit_or_load(
        model,
        checkpoint(path, other),
        lambda: train(model, noisy_loss, data, other, checkpoint=checkpoint(path, other)),
        retrain=True,
    )
    assert history.done and load_checkpoint(path)["spec"]["train"]["lr"] == 5e-3


def test_checkpoint_without_spec_is_refused(tmp_path):
    save_checkpoint({"model": {}, "history": {}}, tmp_path / "old.pt")
    with pytest.raises(SpecMismatchError, match="no run specification"):
        checkpoint(tmp_path / "old.pt").load()


def test_finished_checkpoint_of_another_network_names_the_file_and_the_fix(tmp_path):
    """Same spec, other network (written by an older version of the code, say one without a new layer): the error
    names the file and the fix instead of torch's bare "Missing key(s) in state_dict"."""
    path = tmp_path / "older.pt"
    done = {"step_loss": [0.5], "stopped_by": "steps"}
    Checkpoint(path, {}).save({"model": nn.Linear(2, 2).state_dict(), "history": done})
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with pytest.raises(SpecMismatchError, match=r"(?s)older\.pt holds a network of another shape.*retrain"):
        fit_or_load(model, Checkpoint(path, {}), fit=lambda: pytest.fail("must not train"))


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_damaged_checkpoint_names_the_file_and_the_fix(tmp_path, keep):
    """A checkpoint cut short (a full disk, a copy interrupted) or emptied used to raise torch's internal "failed
    finding central directory" error, which names neither the file nor what to do."""
    path = tmp_path / "cut.pt"
    save_checkpoint({"model": {"w": torch.arange(1000.0)}, "spec": {}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DamagedCheckpointError, match=r"cut\.pt is damaged.*retrain"):
        load_checkpoint(path)
    with pytest.raises(DamagedCheckpointError, match="retrain"):
        Checkpoint(path, {}).load()


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
    with pytest.raises(NonFiniteLossError, match=r"step 7.*step 6\) is intact"):
        train(make_model(0), loss_turning_nan, data, config, checkpoint=checkpoint(tmp_path / "n.pt", config))
    state = load_checkpoint(tmp_path / "n.pt")
    assert len(state["history"]["step_loss"]) == 6 and not state["history"]["stopped_by"]
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_cosine_schedule_warms_up_and_decays_to_zero():
    config = TrainConfig(epochs=1, batch_size=16, lr=0.1, warmup_steps=2)
    assert [lr_factor(s, run_progress(s, 0.0, 6, config), config) for s in range(2)] == pytest.approx(
        [0.5 * 0.5 * (1 + math.cos(0.0)), 0.5 * (1 + math.cos(math.pi / 6))]
    )
    assert lr_factor(3, run_progress(3, 0.0, 6, config), config) == pytest.approx(0.5)
    assert lr_factor(6, run_progress(6, 0.0, 6, config), config) == pytest.approx(0.0, abs=1e-12)


def test_progress_follows_whichever_limit_binds():
    config = TrainConfig(time_budget_s=100.0)
    assert run_progress(10, 20.0, 100, config) == pytest.approx(0.2)  # time binds
    assert run_progress(50, 20.0, 100, config) == pytest.approx(0.5)  # steps bind
    assert run_progress(10, 150.0, 100, config) == 1.0


def test_time_budget_ends_annealed(monkeypatch):
    """Hole 5: a run cut by its time budget used to stop at a high learning rate. Time is simulated (a clock that
    advances 1 s per step, budget 10 s, 1000 steps planned): the schedule anneals by time and the history says so."""
    import asgn2.training as training

    clock = iter(float(t) for t in range(10**6))
    monkeypatch.setattr(training, "clock", lambda: next(clock))
    lrs: list[float] = []

    def spying_loss(model, batch):
        return noisy_loss(model, batch)

    original_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    config = TrainConfig(epochs=1000, max_steps=1000, batch_size=16, lr=1e-2, time_budget_s=10.0)
    history = train(make_model(0), spying_loss, make_data(), config)
    assert history.stopped_by == "time" and history.done and 5 <= history.steps <= 11
    assert lrs[0] > 0.9e-2 and lrs[-1] < 0.1 * 1e-2  # it started high and ended near zero
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


class FakeClock:
    """A clock that moves only when told: a training step takes 1 s, an evaluation 5 s, a checkpoint write 3 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_time_budget_counts_training_steps_only(monkeypatch, tmp_path):
    """Under a 10 s budget, evaluating every step (5 s each) and writing a checkpoint every 2 steps (3 s each) used
    to eat the budget: fewer steps, another model. The budget counts training steps only; the rest is timed apart."""
    import asgn2.checkpoints as checkpoints
    import asgn2.training as training

    clock = FakeClock()
    monkeypatch.setattr(training, "clock", clock)
    original_save = checkpoints.Checkpoint.save

    def slow_save(self, state):
        clock.now += 3.0
        return original_save(self, state)

    monkeypatch.setattr(checkpoints.Checkpoint, "save", slow_save)

    def timed_loss(model, batch):
        clock.now += 1.0
        return noisy_loss(model, batch)

    def slow_eval(model):
        clock.now += 5.0
        return {"metric": 1.0}

    budget = TrainConfig(epochs=100, batch_size=16, lr=1e-2, time_budget_s=10.0, seed=3)
    runs = {}
    for eval_every, every in [(None, None), (1, 2)]:
        config = dataclasses.replace(budget, eval_every=eval_every, checkpoint_every=every)
        model = make_model(0)
        target = checkpoint(tmp_path / f"{eval_every}.pt", config)
        runs[eval_every] = (model, train(model, timed_loss, make_data(), config, eval_fn=slow_eval, checkpoint=target))
    (plain, quiet), (busy_model, busy) = runs[None], runs[1]
    assert quiet.steps == busy.steps == 10 and quiet.wall_time_s == busy.wall_time_s == 10.0
    assert busy.eval_time_s == 5.0 * 10 and busy.checkpoint_time_s == 3.0 * 6  # 10 evaluations; 5 saves + the last
    assert quiet.eval_time_s == 5.0 and quiet.checkpoint_time_s == 3.0  # the final evaluation and save only
    for a, b in zip(plain.state_dict().values(), busy_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_eval_fn_runs_on_schedule_and_leaves_training_randomness_alone():
    def eval_fn(model):
        torch.rand(100)  # an evaluation that draws from the global RNG must not shift the training noise
        return {"metric": 1.0}

    config = TrainConfig(epochs=2, batch_size=16, eval_every=4)
    with_eval = train(make_model(0), noisy_loss, make_data(), config, eval_fn=eval_fn)
    without = train(make_model(0), noisy_loss, make_data(), config)
    assert [e["step"] for e in with_eval.evals] == [4.0, 8.0, 12.0]
    assert with_eval.step_loss == without.step_loss


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
