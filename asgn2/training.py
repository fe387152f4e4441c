"""One small training loop shared by every model in the package.

`train(model, loss_fn, data, config)` runs AdamW with warm-up + cosine (or constant) learning rate, gradient clipping,
periodic evaluation and atomic checkpoints, and resumes from its checkpoint. The data order of epoch `e` is a
permutation drawn from a generator seeded by `(config.seed, e)`, and the checkpoint holds the optimizer, schedule and
RNG state, so an interrupted run resumed from its checkpoint takes exactly the steps the uninterrupted run takes.
"""

from __future__ import annotations

import ctypes
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

Batch = torch.Tensor | tuple[torch.Tensor, ...]
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], dict[str, float]]


class NonFiniteLossError(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; training stopped without overwriting the checkpoint."""


@dataclass
class TrainConfig:
    epochs: int = 1
    max_steps: int | None = None  # cap on optimizer steps; the schedule spans min(epochs * steps/epoch, max_steps)
    time_budget_s: float | None = None  # wall-clock cap; stops early (the schedule is not shortened)
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"  # "cosine" (to 0 after warm-up) or "constant"
    warmup_steps: int = 0
    grad_clip: float | None = 1.0
    eval_every: int | None = None  # steps between evaluations; the end of training always evaluates
    checkpoint_every: int | None = None  # steps between checkpoints; the end of training always writes one
    seed: int = 0
    progress: bool = True
    desc: str = "train"


@dataclass
class History:
    step_loss: list[float] = field(default_factory=list)  # one training loss per optimizer step
    epoch_loss: list[float] = field(default_factory=list)  # mean training loss of each completed epoch
    evals: list[dict[str, float]] = field(default_factory=list)  # {"step": s, metric: value, ...}
    wall_time_s: float = 0.0  # training time summed over all sessions (resumes included)
    done: bool = False  # True once the run reached its step count or time budget

    @property
    def steps(self) -> int:
        return len(self.step_loss)


# ----------------------------------------------------------------------------------------------------------- set-up


def select_device(preferred: str | None = None) -> torch.device:
    """The argument, else env `ASGN2_DEVICE`, else cuda, then mps, then cpu."""
    name = preferred or os.environ.get("ASGN2_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads: the argument, else env `ASGN2_THREADS`, else leave torch's default."""
    n = num_threads or int(os.environ.get("ASGN2_THREADS", "0"))
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def configure_allocator() -> bool:
    """Keep freed memory in the process (glibc only): return True if applied.

    A training step allocates and frees the same large activation buffers every time. By default glibc hands big
    blocks back to the kernel (mmap/munmap, heap trimming), so every step page-faults them in again and the kernel
    zeroes each page: about 600k page faults in 25 PixelCNN steps, some 10% of the step time on a 2-core CPU
    (benchmarks/bench_pixelcnn.py). Serving blocks up to 32 MiB from the heap and never trimming it removes most
    of them, at the cost of holding on to the peak memory. Env `ASGN2_MALLOC_TUNING=0` turns this off.
    """
    if os.environ.get("ASGN2_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def checkpoint_dir() -> Path:
    """Where trained models are cached: env `ASGN2_CHECKPOINTS`, else `./checkpoints`."""
    return Path(os.environ.get("ASGN2_CHECKPOINTS", "checkpoints"))


def progress_enabled(requested: bool = True) -> bool:
    """Progress bars can be silenced globally with env `ASGN2_PROGRESS=0` (tests, CI logs)."""
    return requested and os.environ.get("ASGN2_PROGRESS", "1") not in ("0", "false", "no")


def progress_bar(total: int, initial: int, desc: str, enabled: bool = True):
    """A tqdm bar: a widget in Jupyter, text in a terminal. Env `ASGN2_PROGRESS=text` forces a plain-text bar on
    stdout that redraws at most every 10 s: a notebook executed unattended (nbclient) keeps only its last state,
    which the exported PDF can show (a widget would be saved as its first state, "0%")."""
    from tqdm.auto import tqdm as auto_tqdm
    from tqdm.std import tqdm as text_tqdm

    disable = not progress_enabled(enabled)
    if os.environ.get("ASGN2_PROGRESS") == "text":
        return text_tqdm(
            total=total, initial=initial, desc=desc, disable=disable, file=sys.stdout, ascii=True, mininterval=10
        )
    return auto_tqdm(total=total, initial=initial, desc=desc, disable=disable)


# ------------------------------------------------------------------------------------------------------ checkpoints


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `state` with `torch.save` to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic, so a crash or an error mid-write leaves the previous checkpoint intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path.resolve()}")
    return torch.load(path, map_location=map_location, weights_only=True)


def load_trained(model: nn.Module, path: str | os.PathLike) -> tuple[nn.Module, History] | None:
    """Load the weights of a finished run from `path` into `model`; None if there is no finished run there."""
    path = Path(path)
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    history = History(**state["history"])
    if not history.done:
        return None
    load_weights(model, state, path)
    return model, history


def load_weights(model: nn.Module, state: dict[str, Any], path: str | os.PathLike) -> None:
    """model.load_state_dict(state["model"]), or a ValueError that says what to do when the checkpoint at `path`
    holds another configuration (say, one written before a profile's sizes changed)."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise ValueError(
            f"the checkpoint {path} holds a model of another configuration than this {type(model).__name__} "
            f"{getattr(model, 'config', '')}; delete it (or use --retrain) to train this one. Loading said: "
            f"{str(error).splitlines()[0]}"
        ) from error


def fit_or_load(
    model: nn.Module, path: Path, fit: Callable[[], History], retrain: bool = False, device: str | None = None
) -> tuple[nn.Module, History]:
    """The finished run cached at `path` if there is one (unless `retrain`), else `fit()`, which trains `model` with
    checkpoints at `path`. Returns the model in eval mode and the history."""
    if retrain:
        path.unlink(missing_ok=True)
    elif (cached := load_trained(model, path)) is not None:
        return cached[0].to(select_device(device)).eval(), cached[1]
    history = fit()
    return model.eval(), history


# -------------------------------------------------------------------------------------------------------- the loop


def _lr_factor(config: TrainConfig, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        if config.schedule == "constant":
            return 1.0
        progress = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    if config.schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {config.schedule!r}")
    return factor


def _as_tuple(data: Batch) -> tuple[torch.Tensor, ...]:
    tensors = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
        raise ValueError("data must be a tensor or a tuple of tensors with the same first dimension")
    return tensors


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def _evaluate(model: nn.Module, eval_fn: EvalFn, step: int) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        metrics = {k: float(v) for k, v in eval_fn(model).items()}
    model.train()
    return {"step": float(step), **metrics}


def train(
    model: nn.Module,
    loss_fn: LossFn,
    data: Batch,
    config: TrainConfig,
    *,
    eval_fn: EvalFn | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    pause_at_step: int | None = None,
) -> History:
    """Train `model` to minimise `loss_fn(model, batch)` over mini-batches of `data`; return the `History`.

    data: a tensor or a tuple of tensors sharing the first dimension N; a batch has the same structure.
    checkpoint: a path; if a checkpoint is there, training resumes from it (a finished one returns at once).
    pause_at_step: stop (with a checkpoint) after this global step without finishing, as if interrupted.
    Ctrl-C also writes a checkpoint before it propagates, so nothing is lost.
    """
    device = select_device(None if device is None else str(device))
    tensors = _as_tuple(data)
    n = tensors[0].shape[0]
    if n < config.batch_size:
        raise ValueError(f"need at least batch_size={config.batch_size} examples, got {n}")
    if device.type != "cpu":  # MNIST fits on any accelerator; moving it once avoids a copy per step
        tensors = tuple(t.to(device) for t in tensors)
    steps_per_epoch = n // config.batch_size  # full batches only: every step sees the same batch size
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)

    configure_allocator()
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config, total_steps))
    history = History()

    if checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint, map_location=device)
        load_weights(model, state, checkpoint)
        history = History(**state["history"])
        if history.done:
            return history
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if torch.cuda.is_available() and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
    else:
        seed_everything(config.seed)

    saved_step = history.steps if checkpoint is not None and Path(checkpoint).is_file() else None

    def write_checkpoint() -> None:
        nonlocal saved_step
        if checkpoint is None:
            return
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "history": asdict(history),
                "config": asdict(config),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            checkpoint,
        )
        saved_step = history.steps

    bar = progress_bar(total_steps, history.steps, config.desc, config.progress)
    start = time.perf_counter()
    wall_before = history.wall_time_s
    step = history.steps
    order = _epoch_order(n, config.seed, step // steps_per_epoch)
    consistent = True  # False only between optimizer.step() and the bookkeeping of that step
    try:
        while step < total_steps:
            epoch, i = divmod(step, steps_per_epoch)
            if i == 0 and step > 0:
                order = _epoch_order(n, config.seed, epoch)
            index = order[i * config.batch_size : (i + 1) * config.batch_size].to(tensors[0].device)
            batch = tuple(t[index] for t in tensors)
            loss = loss_fn(model, batch[0] if len(batch) == 1 else batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip or float("inf"))
            value = loss.item()
            if not (math.isfinite(value) and math.isfinite(float(grad_norm))):
                if saved_step is not None:
                    where = f"the last good checkpoint ({checkpoint}, step {saved_step}) is intact"
                else:
                    where = "no checkpoint was written yet" if checkpoint else "no checkpoint was requested"
                raise NonFiniteLossError(
                    f"{config.desc}: loss {value}, gradient norm {float(grad_norm)} at step {step}; stopped, {where}. "
                    "Try a lower learning rate or stronger gradient clipping."
                )
            consistent = False
            optimizer.step()
            scheduler.step()
            step += 1
            history.step_loss.append(value)
            consistent = True
            history.wall_time_s = wall_before + time.perf_counter() - start
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4g}")
            if step % steps_per_epoch == 0:
                history.epoch_loss.append(float(np.mean(history.step_loss[-steps_per_epoch:])))
            out_of_time = config.time_budget_s is not None and history.wall_time_s >= config.time_budget_s
            if eval_fn is not None and config.eval_every and step % config.eval_every == 0 and step < total_steps:
                history.evals.append(_evaluate(model, eval_fn, step))
            if out_of_time:
                break
            if pause_at_step is not None and step >= pause_at_step:
                write_checkpoint()
                return history
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                write_checkpoint()
    except KeyboardInterrupt:
        if consistent:
            write_checkpoint()
        raise
    finally:
        bar.close()

    if eval_fn is not None:
        history.evals.append(_evaluate(model, eval_fn, step))
    history.done = True
    history.wall_time_s = wall_before + time.perf_counter() - start
    write_checkpoint()
    return history
