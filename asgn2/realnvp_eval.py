"""Beyond programming Q2: how good are a flow's samples, and figures: FID and confident fraction per temperature,
interpolation in latent space, nearest training digits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .data import IMAGE_SHAPE
from .digit_base import sample_with_labels
from .display import show_grid
from .flows import Flow
from .randomness import generator as stream
from .realnvp import sample
from .sample_scores import score_samples


@torch.no_grad()
def interpolate(model: Flow, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Images (steps, 1, 28, 28) in [0, 1] along the straight line between the latents of uint8 images a and b
    (each (1, 28, 28)), dequantized at the bin centres (x + 0.5) so the end points are the images themselves."""
    model.eval()
    device = next(model.parameters()).device
    z = model.transform(torch.stack([a, b]).float().add(0.5).to(device))[0]
    weights = torch.linspace(0, 1, steps, device=device)[:, None]
    v = model.transform.inverse((1 - weights) * z[0] + weights * z[1])[0]
    return (v.clamp(0, 255.999).floor() / 255).view(steps, *IMAGE_SHAPE).cpu()


def nearest_neighbours(samples: torch.Tensor, train_images: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Indices (n, k) of the k training images closest in Euclidean pixel distance to each uint8 sample."""
    a = samples.flatten(1).float()
    out = []
    for chunk in train_images.split(10000):
        out.append(torch.cdist(a, chunk.flatten(1).float()))
    return torch.cat(out, 1).topk(k, largest=False).indices


def sample_quality(
    model: Flow,
    judge: nn.Module,
    real_images: torch.Tensor,
    temperatures: list[float],
    n: int = 1000,
    seed: int = 0,
    confident: float = 0.9,
) -> list[dict[str, float]]:
    """Per temperature T: `sample_scores.score_samples` of n samples against n real uint8 images
    (`real_images[:n]`): FID, the fraction labelled with probability >= `confident` and its half-width. Each
    temperature draws its own latents (sampling stream, seed + 100 T)."""
    return _quality_rows(
        lambda t, g: (sample(model, n, t, g), None), judge, real_images[:n], temperatures, seed, confident
    )


def told_sample_quality(
    model: Flow,
    judge: nn.Module,
    real_images: torch.Tensor,
    temperatures: list[float],
    n: int = 1000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """`sample_quality` of a flow with a per-digit base, each sample told a digit drawn from the label frequencies
    pi: per temperature, FID, the confident fraction and how often the classifier names the told digit (overall with
    its half-width, and per digit)."""
    return _quality_rows(lambda t, g: sample_with_labels(model, n, t, g), judge, real_images[:n], temperatures, seed)


def choose_temperature(
    rows_at: Callable[[list[float]], list[dict[str, Any]]], grid: list[float], step: float = 0.1
) -> tuple[float, list[dict[str, Any]]]:
    """The temperature of lowest FID among `rows_at(temperatures)` (rows of `sample_quality` or
    `told_sample_quality`, scored against data the report does not use), starting from `grid`: while the lowest
    lies at an end of the grid, the grid grows by `step` past that end (down to `step`, up to 2), so the chosen
    temperature has a scored neighbour on each side unless it is at a limit. Returns (T, every row scored, by T)."""
    rows = {r["temperature"]: r for r in rows_at(sorted(grid))}
    while True:
        best = min(rows.values(), key=lambda r: r["fid"])["temperature"]
        lowest, highest = min(rows), max(rows)
        if best == lowest and best - step >= step - 1e-9:
            new = round(best - step, 6)
        elif best == highest and best + step <= 2 + 1e-9:
            new = round(best + step, 6)
        else:
            return best, [rows[t] for t in sorted(rows)]
        rows.update({r["temperature"]: r for r in rows_at([new])})


@torch.no_grad()
def _quality_rows(
    draw: Callable[[float, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]],
    judge: nn.Module,
    real: torch.Tensor,
    temperatures: list[float],
    seed: int,
    confident: float = 0.9,
) -> list[dict[str, Any]]:
    """One row of `sample_scores.score_samples` per temperature T of the samples (and told digits) `draw(T, g)`
    makes, g the sampling stream of seed + 100 T (each temperature its own latents, whatever grid it is in)."""
    rows = []
    for t in temperatures:
        images, labels = draw(t, stream("sampling", seed + round(100 * t)))
        rows.append({"temperature": t, **score_samples(judge, images.cpu(), real, labels, threshold=confident)})
    return rows


def plot_samples(model: Flow, temperatures: list[float], n: int = 64, seed: int = 0, nrow: int = 8):
    """Figure: one panel of n samples per temperature, each panel from its own latent draws (sampling stream,
    seed + panel index), so panels differ by more than their temperature."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 3.6), squeeze=False)
    for k, (ax, t) in enumerate(zip(axes[0], temperatures, strict=True)):
        show_grid(sample(model, n, t, stream("sampling", seed + k)), f"T = {t}", nrow=nrow, ax=ax)
    fig.tight_layout()
    return fig
