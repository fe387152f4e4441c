"""The training loop shared by every model in the package: `train`, at the bottom of this file.

`train(model, loss_fn, data, config)` runs AdamW with warm-up and a cosine learning rate, gradient
clipping, periodic evaluation and atomic checkpoints, and resumes from its checkpoint. The run ends at
`config.max_steps` (or `epochs`) or at `config.time_budget_s` of training, whichever comes first, and the cosine
follows whichever of the two binds, so a slow machine still ends annealed rather than cut off at a high learning rate.

Randomness: training seeds the global RNG with the "train" stream (`randomness`), and evaluations run in a forked
RNG, so they neither see nor shift the training noise. The data order of epoch `e` is a permutation drawn from its
own generator, and the checkpoint holds the optimizer and RNG state: an interrupted run resumed from its checkpoint
takes exactly the steps the uninterrupted run takes (without a time budget, which depends on the machine).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .checkpoints import Checkpoint
from .randomness import stream_seed
from .runtime import configure_allocator, seed_everything, select_device

Batch = torch.Tensor | tuple[torch.Tensor, ...]
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], dict[str, float]]
STOP_REASONS = ("steps", "time")
clock = time.perf_counter  # the training clock: a module attribute, so that a test can run the loop on a fake one


class NonFiniteLossError(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; training stopped without overwriting the checkpoint."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1
    max_steps: int | None = None  # cap on optimizer steps: the run is min(epochs * steps/epoch, max_steps) steps
    time_budget_s: float | None = None  # cap on training time; the schedule then anneals by time if that binds first
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0  # then a cosine from lr to 0 over the run
    grad_clip: float = 1.0  # on the gradient's global norm
    eval_every: int | None = None  # steps between evaluations; the end of training always evaluates
    checkpoint_every: int | None = None  # steps between checkpoints; the end of training always writes one
    seed: int = 0  # of the "train" random stream and the data order
    bf16: bool = False  # forward passes in bfloat16 autocast where `runtime.fast_bf16` says the CPU computes it fast


@dataclass
class History:
    step_loss: list[float] = field(default_factory=list)  # one training loss per optimizer step
    evals: list[dict[str, float]] = field(default_factory=list)  # {"step": s, metric: value, ...}
    wall_time_s: float = 0.0  # time in training steps, summed over all sessions (resumes included)
    eval_time_s: float = 0.0  # time in evaluations, apart (the time budget counts training steps only)
    checkpoint_time_s: float = 0.0  # time writing checkpoints, apart
    stopped_by: str = ""  # "steps" or "time" once the run is finished, "" before

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    @property
    def done(self) -> bool:
        return self.stopped_by in STOP_REASONS


# ------------------------------------------------------------------------------------------------------ schedule


def run_progress(step: int, elapsed_s: float, total_steps: int, config: TrainConfig) -> float:
    """The fraction of the run that is done, in [0, 1]: by steps, or by time where the time budget binds first."""
    done = step / max(1, total_steps)
    if config.time_budget_s is not None:
        done = max(done, elapsed_s / config.time_budget_s if config.time_budget_s > 0 else 1.0)
    return min(done, 1.0)


def lr_factor(step: int, progress: float, config: TrainConfig) -> float:
    """Linear warm-up over the first `warmup_steps`, times a cosine from 1 to 0 over the run's progress."""
    warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    return warm * 0.5 * (1.0 + math.cos(math.pi * progress))


# ------------------------------------------------------------------------------------------------------ progress


def progress_enabled() -> bool:
    """Progress bars can be silenced globally with env `ASGN2_PROGRESS=0` (tests, CI logs)."""
    return os.environ.get("ASGN2_PROGRESS", "1") not in ("0", "false", "no")


def progress_bar(total: int, initial: int, desc: str):
    """A tqdm bar: a widget in Jupyter, text in a terminal. Env `ASGN2_PROGRESS=text` forces a plain-text bar on
    stdout that redraws at most every 10 s: a notebook executed unattended (nbclient) keeps only its last state,
    which the exported PDF can show (a widget would be saved as its first state, "0%")."""
    from tqdm.auto import tqdm as auto_tqdm
    from tqdm.std import tqdm as text_tqdm

    disable = not progress_enabled()
    if os.environ.get("ASGN2_PROGRESS") == "text":
        return text_tqdm(
            total=total, initial=initial, desc=desc, disable=disable, file=sys.stdout, ascii=True, mininterval=10
        )
    return auto_tqdm(total=total, initial=initial, desc=desc, disable=disable)


# ----------------------------------------------------------------------------------------------------- the loop


class _Batches:
    """Mini-batches of full size over a tensor or a tuple of tensors sharing the first dimension N; batch `step`
    is a slice of epoch step // steps_per_epoch's permutation, drawn from a generator of (seed, epoch)."""

    def __init__(self, data: Batch, config: TrainConfig, device: torch.device) -> None:
        tensors = (data,) if isinstance(data, torch.Tensor) else tuple(data)
        if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("data must be a tensor or a tuple of tensors with the same first dimension")
        n = tensors[0].shape[0]
        if n < config.batch_size:
            raise ValueError(f"need at least batch_size={config.batch_size} examples, got {n}")
        # MNIST fits on any accelerator: moving it once avoids a copy per step
        self.tensors = tensors if device.type == "cpu" else tuple(t.to(device) for t in tensors)
        self.n, self.size, self.seed = n, config.batch_size, stream_seed("train", config.seed)
        self.per_epoch = n // config.batch_size
        self.total_steps = config.epochs * self.per_epoch
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self._epoch, self._order = -1, torch.empty(0)

    def __getitem__(self, step: int) -> Batch:
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            self._epoch, self._order = epoch, torch.randperm(self.n, generator=generator)
        index = self._order[i * self.size : (i + 1) * self.size].to(self.tensors[0].device)
        batch = tuple(t[index] for t in self.tensors)
        return batch[0] if len(batch) == 1 else batch


def _save(checkpoint: Checkpoint | None, model: nn.Module, optimizer, history: History) -> None:
    """Write the run's checkpoint (if it has one): model, optimizer, history and the RNG state, atomically."""
    if checkpoint is None:
        return
    rng_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": asdict(history)}
    checkpoint.save({**state, "rng_cpu": torch.get_rng_state(), "rng_cuda": rng_cuda})


def _restore(model: nn.Module, optimizer, checkpoint: Checkpoint | None, device: torch.device) -> History | None:
    """Load model, optimizer and RNG state from the checkpoint; None (nothing loaded) if there is none."""
    state = checkpoint.load(map_location=device) if checkpoint is not None else None
    if state is None:
        return None
    checkpoint.load_model(model, state)
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng_cpu"].cpu())
    if torch.cuda.is_available() and state.get("rng_cuda") is not None:
        torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
    return History(**state["history"])


def _optimizer_steps(optimizer) -> int:
    """How many steps AdamW has taken (its per-parameter step count; 0 before the first)."""
    states = list(optimizer.state.values())
    return int(states[0]["step"]) if states else 0


def _evaluate(model: nn.Module, eval_fn: EvalFn, step: int) -> dict[str, float]:
    """eval_fn(model) in eval mode, without gradients, in a forked RNG (the training stream is left untouched)."""
    model.eval()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        metrics = {k: float(v) for k, v in eval_fn(model).items()}
    model.train()
    return {"step": float(step), **metrics}


def _step(model: nn.Module, loss_fn: LossFn, batch: Batch, optimizer, config: TrainConfig) -> tuple[float, float]:
    """One optimizer step on `batch`: the loss, its gradient, the gradient clipped to norm `grad_clip`, AdamW's
    update. Returns (loss, gradient norm); the update is skipped if either is not finite."""
    loss = loss_fn(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
    value = loss.item()
    if math.isfinite(value) and math.isfinite(grad_norm):
        optimizer.step()
    return value, grad_norm


def train(
    model: nn.Module,
    loss_fn: LossFn,
    data: Batch,
    config: TrainConfig,
    *,
    eval_fn: EvalFn | None = None,
    checkpoint: Checkpoint | None = None,
    device: torch.device | str | None = None,
    desc: str = "train",
) -> History:
    """Train `model` to minimise `loss_fn(model, batch)` over mini-batches of `data`; return the `History`.

    data: a tensor or a tuple of tensors sharing the first dimension N; a batch has the same structure.
    checkpoint: where the run is saved; an unfinished run there is resumed (and says from which step), a finished
    one returned at once. Ctrl-C writes a checkpoint before it propagates, so nothing is lost.
    """
    device = select_device(None if device is None else str(device))
    batches = _Batches(data, config, device)
    configure_allocator()
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = _restore(model, optimizer, checkpoint, device)
    if history is None:
        history = History()
        seed_everything(stream_seed("train", config.seed))
    elif history.done:
        return history
    else:
        print(f"{desc}: resuming from step {history.steps} of {checkpoint.path} ({history.wall_time_s:.0f} s done)")

    bar = progress_bar(batches.total_steps, history.steps, desc)
    try:
        while (progress := run_progress(history.steps, history.wall_time_s, batches.total_steps, config)) < 1:
            for group in optimizer.param_groups:  # warm-up, then a cosine over the run (by steps or by time)
                group["lr"] = config.lr * lr_factor(history.steps, progress, config)
            started = clock()
            loss, grad_norm = _step(model, loss_fn, batches[history.steps], optimizer, config)
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                raise NonFiniteLossError(
                    f"{desc}: loss {loss}, gradient norm {grad_norm} at step {history.steps}; stopped, "
                    f"{_last_checkpoint(checkpoint)}. Try a lower learning rate or stronger gradient clipping."
                )
            history.step_loss.append(loss)
            history.wall_time_s += clock() - started  # the budget counts this step, not evaluations or saving
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}", left=_time_left(history, batches.total_steps, config), refresh=False)
            if eval_fn is not None and config.eval_every and history.steps % config.eval_every == 0:
                _evaluate_into(history, model, eval_fn)
            if config.checkpoint_every and history.steps % config.checkpoint_every == 0:
                _save_timed(checkpoint, model, optimizer, history)
    except KeyboardInterrupt:
        if _optimizer_steps(optimizer) == history.steps:  # not between a step and its bookkeeping
            _save(checkpoint, model, optimizer, history)
        raise
    finally:
        bar.close()

    history.stopped_by = "steps" if history.steps >= batches.total_steps else "time"
    if eval_fn is not None and (not history.evals or history.evals[-1]["step"] != history.steps):
        _evaluate_into(history, model, eval_fn)
    _save_timed(checkpoint, model, optimizer, history)
    print(
        f"{desc}: {history.steps} of {batches.total_steps} steps in {history.wall_time_s:.0f} s of training "
        f"({history.eval_time_s:.0f} s evaluating and {history.checkpoint_time_s:.0f} s saving apart), {_why(history)}"
    )
    return history


def _evaluate_into(history: History, model: nn.Module, eval_fn: EvalFn) -> None:
    """Append an evaluation to the history, its time to `eval_time_s` (outside the training time)."""
    started = clock()
    history.evals.append(_evaluate(model, eval_fn, history.steps))
    history.eval_time_s += clock() - started


def _save_timed(checkpoint: Checkpoint | None, model: nn.Module, optimizer, history: History) -> None:
    """`_save`, its time added to `checkpoint_time_s` (apart from training time; the file holds earlier writes')."""
    started = clock()
    _save(checkpoint, model, optimizer, history)
    history.checkpoint_time_s += clock() - started


def _last_checkpoint(checkpoint: Checkpoint | None) -> str:
    """Where the run stands on disk, for an error message."""
    if checkpoint is None:
        return "no checkpoint was requested"
    if not checkpoint.path.is_file():
        return "no checkpoint was written yet"
    saved_steps = len(checkpoint.load()["history"]["step_loss"])
    return f"the last good checkpoint ({checkpoint.path}, step {saved_steps}) is intact"


def _time_left(history: History, total_steps: int, config: TrainConfig) -> str:
    """The run's remaining time, "123 s", from its progress so far (by steps or by the time budget, whichever binds:
    a progress bar's own estimate counts steps only and overstates a run that the time budget will end)."""
    done = run_progress(history.steps, history.wall_time_s, total_steps, config)
    return f"{history.wall_time_s * (1 - done) / max(done, 1e-9):.0f} s"


def _why(history: History) -> str:
    if history.stopped_by == "time":
        return "stopped by the time budget (the learning rate annealed by time)"
    return "all steps done"
