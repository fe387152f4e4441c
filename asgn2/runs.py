"""The train-or-load policy: a finished run is trained once and then loaded, for the same run specification only,
and for the same precision and device class as the run would now train in (a float32 model is not served to a
bfloat16 run, nor the other way round)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .checkpoints import Checkpoint, checkpoint_dir, spec_dict
from .runtime import bf16_training, fast_bf16
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
    prepare: Callable[[], None] | None = None,
) -> tuple[nn.Module, History]:
    """`fit_or_load` of the usual run: `training.train` of `model` with `spec.train`, checkpointed in
    `<kind>-<spec.name>.pt` under the checkpoint folder, with what the run trains in (`trained_in`) beside the spec.
    Where `spec.train.bf16` asks for it and the CPU computes it fast, the forward passes run in bfloat16 autocast
    (`runtime.bf16_training`). `prepare()` runs before training only (not when the finished run is loaded): what a
    model needs before its first step, such as other models it starts from."""
    checkpoint = Checkpoint(
        checkpoint_dir() / f"{kind}-{spec.name}.pt", {**spec_dict(spec), **trained_in(spec, device)}
    )

    def fit() -> History:
        if prepare is not None:
            prepare()
        with bf16_training(model, device, spec.train.bf16) as in_precision:
            return train(
                model,
                in_precision(loss_fn),
                data,
                spec.train,
                eval_fn=eval_fn,
                checkpoint=checkpoint,
                device=device,
                desc=kind,
            )

    return fit_or_load(model, checkpoint, fit, retrain, device)


def trained_in(spec: Any, device: torch.device | str) -> dict[str, str]:
    """{"precision": "bfloat16" or "float32", "device": "cpu", "cuda", ...}: what a run of `spec` trains in here."""
    bf16 = spec.train.bf16 and fast_bf16(device)
    return {"precision": "bfloat16" if bf16 else "float32", "device": torch.device(device).type}
