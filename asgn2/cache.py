"""The train-or-load policy: a finished run is trained once and then loaded, for the same run specification only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .checkpoints import Checkpoint, checkpoint_dir
from .training import Batch, EvalFn, History, LossFn, train


def fit_or_load(
    model: nn.Module,
    checkpoint: Checkpoint,
    fit: Callable[[], History],
    retrain: bool = False,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, History]:
    """The finished run saved at `checkpoint` for the same spec (unless `retrain`), else `fit()`, which trains
    `model` with that checkpoint (resuming an unfinished one). Returns the model in eval mode and its history.

    A file written for another spec raises `SpecMismatchError` (what differs, how to retrain) instead of serving a
    model that the asked-for configuration did not make."""
    if retrain:
        checkpoint.path.unlink(missing_ok=True)
    state = checkpoint.load()
    if state is not None and (history := History(**state["history"])).done:
        checkpoint.load_model(model, state)
        return model.to(device).eval(), history
    history = fit()
    return model.eval(), history


def train_or_load(
    model: nn.Module,
    kind: str,
    spec: Any,
    loss_fn: LossFn,
    data: Batch,
    eval_fn: EvalFn,
    device: torch.device | str = "cpu",
    retrain: bool = False,
) -> tuple[nn.Module, History]:
    """`fit_or_load` of the usual run: `training.train` of `model` with `spec.train`, checkpointed in
    `<kind>-<spec.name>.pt` under the checkpoint folder."""
    checkpoint = Checkpoint(checkpoint_dir() / f"{kind}-{spec.name}.pt", spec)

    def fit() -> History:
        return train(model, loss_fn, data, spec.train, eval_fn=eval_fn, checkpoint=checkpoint, device=device, desc=kind)

    return fit_or_load(model, checkpoint, fit, retrain, device)
