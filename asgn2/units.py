"""The unit every likelihood in the package is reported in besides nats per image: bits per dimension."""

from __future__ import annotations

import math

import torch

from .data import PIXELS


def bits_per_dim(nll_nats: float | torch.Tensor, dims: int = PIXELS) -> float | torch.Tensor:
    """Negative log-likelihood in nats per image -> bits per dimension: nll / (dims ln 2). Positive in, positive out."""
    return nll_nats / (dims * math.log(2))
