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


@pytest.fixture(scope="session")
def mnist_train() -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST training split: uint8 (60000, 1, 28, 28), int64 (60000,)."""
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST test split: uint8 (10000, 1, 28, 28), int64 (10000,)."""
    return load_mnist("test")
