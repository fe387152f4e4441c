"""Named random streams: training randomness and evaluation randomness never share a stream.

A model can memorise the noise it trained on (dequantization noise, binarizations), so an evaluation that redraws
that noise scores it too well. Every consumer of randomness draws from a stream named for its purpose, seeded by
`stream_seed(name, seed)`, a hash of the name and the seed: the training loop seeds the global RNG with the "train"
stream, evaluations use `torch.Generator`s of the "eval-*" streams, and no two names share a seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch

STREAMS = (
    "init",  # a network's initial weights, from its run specification's seed
    "train",  # the training loop: global RNG (batches' binarization and dequantization noise, dropout)
    "eval-binarization",  # the stochastically binarized test set
    "eval-dequantization",  # the dequantization noise of the test set
    "holes",  # the hole masks of evaluations and figures
    "sampling",  # samples and completions shown or scored
    "subsets",  # random subsets of the data (FID sets, evaluation digits)
    "baselines",  # the binarization of the training digits that the nearest-neighbour baselines search
    "base-fit",  # the dequantization of the training digits whose latents fit the Real NVP's per-digit base
)


def stream_seed(name: str, seed: int = 0) -> int:
    """A 63-bit seed for stream `name` and `seed`: SHA-256 of both, so different names give unrelated seeds."""
    if name not in STREAMS:
        raise ValueError(f"unknown random stream {name!r}; the streams are {STREAMS}")
    digest = hashlib.sha256(f"asgn2/{name}/{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(name: str, seed: int = 0) -> torch.Generator:
    """A CPU `torch.Generator` for stream `name`, seed `seed`."""
    return torch.Generator().manual_seed(stream_seed(name, seed))


@contextmanager
def seeded(name: str, seed: int = 0) -> Iterator[None]:
    """Run the block with the global RNG seeded for stream `name`, seed `seed`, and restore the RNG after it: a
    network built inside `seeded("init", spec.train.seed)` has the same initial weights whatever ran before."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(name, seed))
        yield
