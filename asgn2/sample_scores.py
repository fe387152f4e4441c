"""How good a set of generated digits is, judged by the MNIST classifier: the numbers of the sample tables.

- FID: the Fréchet distance between the classifier's features of the samples and of as many real digits.
- confident: the fraction of samples the classifier labels with probability >= 0.9 (a real digit usually is).
- agree: for samples drawn told a digit y (a class-conditional model), how often the classifier names y, overall
  and per digit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .classifier import confident_fraction, predict
from .fid import fid_images
from .intervals import proportion_interval


def told_digit_agreement(judge: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, list[float]]:
    """How often the classifier names the digit each image was told (`labels` (N,)): overall, and per digit 0-9
    (NaN for a digit no image was told)."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be ({images.shape[0]},), one per image; got {tuple(labels.shape)}")
    right = predict(judge, images) == labels.cpu()
    per_digit = [right[labels.cpu() == y].float().mean().item() for y in range(10)]
    return right.float().mean().item(), per_digit


def score_samples(
    judge: nn.Module,
    images: torch.Tensor,
    real: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    threshold: float = 0.9,
) -> dict[str, Any]:
    """FID of `images` (N, 1, 28, 28) against `real` (as many real digits), the confident fraction (probability
    >= `threshold`) with the half-width of its 95% interval and, given the told `labels` (N,), the agreement
    with them (overall with its half-width, and per digit)."""
    if real.shape[0] != images.shape[0]:
        raise ValueError(
            f"score against as many real digits as samples (FID depends on n): {real.shape[0]} vs {images.shape[0]}"
        )
    n = images.shape[0]
    sure = confident_fraction(judge, images, threshold)
    scores: dict[str, Any] = {
        "fid": fid_images(images, real, judge),
        "confident": sure,
        "confident_half_width": proportion_interval(sure, n),
    }
    if labels is not None:
        agree, per_digit = told_digit_agreement(judge, images, labels)
        scores |= {"agree": agree, "agree_half_width": proportion_interval(agree, n), "agree_per_digit": per_digit}
    return scores
