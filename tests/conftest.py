"""Shared fixtures: real MNIST loaded once per session; checkpoints of each test in its own temporary folder."""

from __future__ import annotations

import os

import pytest
import torch

from asgn2.data import load_mnist

os.environ.setdefault("ASGN2_PROGRESS", "0")  # no progress bars in test logs


@pytest.fixture(autouse=True)
def _private_checkpoints(tmp_path, monkeypatch):
    """No test reads or writes the user's ./checkpoints."""
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path / "checkpoints"))


@pytest.fixture(autouse=True)
def _seeded_global_rng():
    """Every test starts from the same global RNG state, whichever tests ran before it or were selected: a test
    that draws from the global RNG without seeding it (say, its inputs) sees the same numbers alone and in the suite.
    Tests of the package's own seeding (training's "train" stream) seed on their own and are unaffected."""
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def mnist_train() -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST training split: uint8 (60000, 1, 28, 28), int64 (60000,)."""
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST test split: uint8 (10000, 1, 28, 28), int64 (10000,)."""
    return load_mnist("test")
