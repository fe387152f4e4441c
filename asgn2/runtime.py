"""Runtime set-up shared by the command line and the notebook's first cell: device, CPU threads, allocator, seed."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


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
    dot products in hardware, with AMX tiles (Intel Sapphire Rapids and later) or AVX512-BF16 (AMD Zen 4 and later,
    Intel Cooper Lake): a PixelCNN training step 2x (AMX) and 1.6x (AVX512-BF16, an AMD EPYC) as fast as in float32
    (benchmarks/bench_pixelcnn.py). Not on other CPUs (a laptop's AVX2 emulates bf16, slower than fp32), nor on a GPU
    (where fp32 is what was checked). Env `ASGN2_BF16` = 0 or 1 overrides."""
    flag = os.environ.get("ASGN2_BF16")
    if flag in ("0", "1"):
        return flag == "1"
    if torch.device(device).type != "cpu":
        return False
    return _cpu_supports("_is_amx_tile_supported") or _cpu_supports("_is_avx512_bf16_supported")


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
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
