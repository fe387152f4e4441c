"""Runtime set-up shared by the command line and the notebook's first cell: device, CPU threads, allocator, seed."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    threads: int
    allocator_tuned: bool


def setup(device: str | None = None, threads: int | None = None, seed: int = 0) -> Runtime:
    """Pick the device, set torch's CPU threads, tune the allocator and seed every global RNG; return what was set.

    Global RNGs only serve code outside training and evaluation (which use their own named streams, `randomness`)."""
    selected = select_device(device)
    n_threads = configure_threads(threads)
    tuned = configure_allocator()
    seed_everything(seed)
    return Runtime(selected, n_threads, tuned)


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


def fast_bf16(device: torch.device | str) -> bool:
    """Whether training on `device` should run its forward passes under bfloat16 autocast: on a CPU that computes bf16
    dot products in hardware (AMX tiles, or AVX512-BF16), where a PixelCNN step is markedly faster than in float32
    (benchmarks/RESULTS.md#pixelcnn-throughput). Not on other CPUs (a laptop's AVX2 emulates bf16, slower than
    float32), nor on a GPU (where float32 is what was checked). Env `ASGN2_BF16` = 0 or 1 overrides."""
    flag = os.environ.get("ASGN2_BF16")
    if flag in ("0", "1"):
        return flag == "1"
    if torch.device(device).type != "cpu":
        return False
    return _cpu_supports("_is_amx_tile_supported") or _cpu_supports("_is_avx512_bf16_supported")


LossFn = Callable[[nn.Module, Any], torch.Tensor]


@contextlib.contextmanager
def bf16_training(model: nn.Module, device: torch.device | str, wanted: bool) -> Iterator[Callable[[LossFn], LossFn]]:
    """Training in bfloat16 where it pays (`wanted` and `fast_bf16(device)`): inside the block the model's weights
    are channels-last (the layout of oneDNN's fast bf16 convolutions), and the block yields a function that turns a
    loss into the same loss computed under bfloat16 autocast (the weights, their gradients and the optimizer stay
    float32). Elsewhere it yields the identity. The weights leave the block in the default layout."""
    use = wanted and fast_bf16(device)
    if wanted:
        print(f"training's forward passes: {'bfloat16 autocast' if use else 'float32'}")
    if not use:
        yield lambda loss_fn: loss_fn
        return
    device_type = torch.device(device).type

    def in_bf16(loss_fn: LossFn) -> LossFn:
        def loss(model: nn.Module, batch: Any) -> torch.Tensor:
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return loss_fn(model, batch)

        return loss

    model.to(memory_format=torch.channels_last)
    try:
        yield in_bf16
    finally:
        model.to(memory_format=torch.contiguous_format)


def _cpu_supports(probe: str) -> bool:
    """torch.cpu's feature probe `probe`, False where this torch has none (no way to tell, so no)."""
    check = getattr(torch.cpu, probe, None)
    return bool(check()) if check is not None else False


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads: the argument, else env `ASGN2_THREADS`, else leave torch's default."""
    n = num_threads or int(os.environ.get("ASGN2_THREADS", "0"))
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


@contextlib.contextmanager
def intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op CPU threads set to n inside the block, restored after it; None leaves them alone (no call:
    the sampler enters this block for every chunk)."""
    if n is None:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def configure_allocator() -> bool:
    """Keep freed memory in the process (glibc only): return True if applied.

    A training step allocates and frees the same large activation buffers every time. By default glibc hands big
    blocks back to the kernel (mmap/munmap, heap trimming), so every step page-faults them in again and the kernel
    zeroes each page. Serving blocks up to 32 MiB from the heap and never trimming it avoids most of that, at the
    cost of holding on to the peak memory. Env `ASGN2_MALLOC_TUNING=0` turns this off.
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
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
