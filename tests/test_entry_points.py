"""The real training entry points (train_classifier, train_recogniser, train_pixelcnn, train_conditional,
train_realnvp) interrupted
and resumed under a time budget, how every profile trains: Ctrl-C at step k writes a checkpoint, and calling the
entry point again ends with the weights, losses, evaluations and training time of the run that was never
interrupted. Time is simulated: the training loop reads its clock once per step and the fake clock advances 1 s per
reading, so a budget of 5 s is 5 steps on any machine. Also: train_conditional runs its forward passes in
bfloat16 exactly where asked."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import asgn2.training as training
from asgn2 import classifier, conditional, flows, pixelcnn, realnvp, recogniser
from asgn2.checkpoints import load_checkpoint
from asgn2.training import TrainConfig

BUDGET = TrainConfig(
    epochs=1000, max_steps=1000, time_budget_s=5.0, batch_size=16, lr=3e-3, warmup_steps=2, eval_every=2
)
STOP_AFTER = 2  # steps done when Ctrl-C comes


def data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    return images, torch.randint(0, 10, (n,), generator=g)


TRAIN, TEST = data(64, seed=0), data(24, seed=1)


class Clock:
    """A stand-in for time.perf_counter: 1 s more at every reading."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def interrupted_then_resumed(monkeypatch, entry, model_type: type[nn.Module], checkpoint: str):
    """entry() interrupted by Ctrl-C during the step after STOP_AFTER steps of its `model_type` network, then
    entry() again, in a later session (the clock has moved on)."""
    original, steps = training._step, []

    def step(model, *args):
        if isinstance(model, model_type):
            steps.append(model)
            if len(steps) == STOP_AFTER + 1:
                raise KeyboardInterrupt
        return original(model, *args)

    monkeypatch.setattr(training, "clock", Clock())
    monkeypatch.setattr(training, "_step", step)
    torch.manual_seed(0)  # the global RNG (the initial weights come from the spec's seed, whatever it holds)
    with pytest.raises(KeyboardInterrupt):
        entry()
    saved = load_checkpoint(checkpoint)["history"]
    assert len(saved["step_loss"]) == STOP_AFTER and saved["stopped_by"] == ""
    monkeypatch.setattr(training, "_step", original)
    monkeypatch.setattr(training, "clock", Clock(start=1000.0))
    torch.manual_seed(123)  # another global state: everything must come from the checkpoint
    return entry()


def check_same_run(monkeypatch, tmp_path, entry, model_type: type[nn.Module], kind: str) -> None:
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path / "straight"))
    monkeypatch.setattr(training, "clock", Clock())
    torch.manual_seed(0)
    model, history = entry()
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path / "resumed"))
    resumed, again = interrupted_then_resumed(
        monkeypatch, entry, model_type, tmp_path / "resumed" / f"{kind}-resume.pt"
    )
    assert history.stopped_by == again.stopped_by == "time" and history.steps == again.steps == 5
    assert history.wall_time_s == again.wall_time_s == 5.0
    assert again.step_loss == pytest.approx(history.step_loss, rel=1e-6)
    assert [e["step"] for e in again.evals] == [e["step"] for e in history.evals] == [2.0, 4.0, 5.0]
    for resumed_eval, straight_eval in zip(again.evals, history.evals, strict=True):
        assert resumed_eval == pytest.approx(straight_eval, rel=1e-5)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), rtol=1e-5, atol=1e-6), name


def test_classifier_resumed_under_a_time_budget(monkeypatch, tmp_path):
    spec = classifier.ClassifierSpec("resume", BUDGET, width=2)
    entry = lambda: classifier.train_classifier(spec, TRAIN, TEST)  # noqa: E731
    check_same_run(monkeypatch, tmp_path, entry, classifier.MnistClassifier, "classifier")


def test_recogniser_resumed_under_a_time_budget(monkeypatch, tmp_path):
    spec = recogniser.RecogniserSpec("resume", BUDGET, width=2)
    entry = lambda: recogniser.train_recogniser(spec, TRAIN, TEST)  # noqa: E731
    check_same_run(monkeypatch, tmp_path, entry, recogniser.Recogniser, "recogniser")


def test_conditional_pixelcnn_resumed_under_a_time_budget(monkeypatch, tmp_path):
    """The recogniser is trained (and cached) first, then the PixelCNN, in bf16 autocast: interrupted in the
    PixelCNN's run, which resumes with the frozen recogniser it had."""
    monkeypatch.setenv("ASGN2_BF16", "1")
    spec = conditional.ConditionalSpec(
        "resume",
        pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4),
        conditional.ConditionConfig(channels=4, recogniser_width=2),
        BUDGET,
        recogniser=recogniser.RecogniserSpec("resume", TrainConfig(max_steps=2, batch_size=16), width=2),
        eval_images=8,
    )
    entry = lambda: conditional.train_conditional(spec, TRAIN, TEST)  # noqa: E731
    check_same_run(monkeypatch, tmp_path, entry, conditional.ConditionalPixelCNN, "conditional")


def test_plain_pixelcnn_resumed_under_a_time_budget(monkeypatch, tmp_path):
    spec = pixelcnn.PixelCNNSpec(
        "resume", pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4), BUDGET, 8
    )
    entry = lambda: pixelcnn.train_pixelcnn(spec, TRAIN[0], TEST[0])  # noqa: E731
    check_same_run(monkeypatch, tmp_path, entry, pixelcnn.PixelCNN, "pixelcnn")


def test_realnvp_resumed_under_a_time_budget(monkeypatch, tmp_path):
    spec = realnvp.RealNVPSpec("resume", realnvp.RealNVPConfig(n_couplings=2, hidden=16), BUDGET, eval_images=8)
    entry = lambda: realnvp.train_realnvp(spec, TRAIN[0], TEST[0])  # noqa: E731
    check_same_run(monkeypatch, tmp_path, entry, flows.Flow, "realnvp")


@pytest.mark.parametrize(
    ("flag", "wanted", "computed"),
    [("1", True, torch.bfloat16), ("1", False, torch.float32), ("0", True, torch.float32)],
)
def test_train_conditional_runs_its_forward_passes_in_bf16_where_asked(monkeypatch, flag, wanted, computed):
    """The profiles ask for bf16 (`TrainConfig.bf16`); it is used where `runtime.fast_bf16` says yes (forced here
    with ASGN2_BF16). Seen by a hook on the masked convolutions during training steps: catches an entry point that
    never enters autocast, or enters it when not asked."""
    monkeypatch.setenv("ASGN2_BF16", flag)
    spec = conditional.ConditionalSpec(
        f"bf16-{flag}-{wanted}",
        pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4),
        conditional.ConditionConfig(channels=4, recogniser_width=2),
        TrainConfig(max_steps=2, batch_size=16, bf16=wanted),
        recogniser=recogniser.RecogniserSpec("bf16", TrainConfig(max_steps=2, batch_size=16), width=2),
        eval_images=8,
    )
    dtypes = set()

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        if isinstance(module, pixelcnn.MaskedConv2d) and module.training:
            dtypes.add(output.dtype)

    handle = nn.modules.module.register_module_forward_hook(hook)
    try:
        _, history = conditional.train_conditional(spec, TRAIN, TEST)
    finally:
        handle.remove()
    assert history.steps == 2 and dtypes == {computed}
