"""95% intervals, the one convention of every interval the package prints (normal approximation)."""

from __future__ import annotations

import math

import torch


def proportion_interval(fraction: float, n: int) -> float:
    """The half-width of the normal-approximation 95% interval of a fraction measured on n independent draws."""
    return 1.96 * math.sqrt(fraction * (1 - fraction) / n)


def mean_and_interval(values: torch.Tensor) -> tuple[float, float]:
    """Mean of per-example values (N,) and the half-width of its normal-approximation 95% interval."""
    values = torch.as_tensor(values, dtype=torch.float64).flatten()
    if values.numel() < 2:
        raise ValueError(f"need at least 2 values for an interval, got {values.numel()}")
    return values.mean().item(), 1.96 * values.std().item() / math.sqrt(values.numel())
