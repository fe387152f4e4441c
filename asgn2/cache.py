"""The train-or-load policy: a finished run is trained once and then loaded, for the same run specification only."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .checkpoints import Checkpoint
from .training import History


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
        model.load_state_dict(state["model"])
        return model.to(device).eval(), history
    history = fit()
    return model.eval(), history
