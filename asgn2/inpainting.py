"""Image inpainting with the PixelCNN: fill the hole pixels of binary images, keep the observed ones exactly.

`known` is a bool tensor (N, 1, H, W), True where the pixel is observed; the hole is `~known`.

Two methods:
- "raster": sample the hole pixels in raster order from p(x_i | x_<i). This conditions on the observed pixels above
  and to the left of each hole pixel only: visible pixels below or right of the hole are ignored.
- "sir" (sampling-importance-resampling): draw K raster completions per image (the proposal q(x_hole)), weight
  each by p(x_hole, x_obs) / q(x_hole) = prod over observed i of p(x_i | x_<i), the likelihood the model gives the
  observed pixels, and resample. As K grows this samples the exact conditional p(x_hole | x_obs) of the model's
  joint, which uses every visible pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .pixelcnn import PixelCNN
from .randomness import generator as stream
from .sampling import check_known, sample_holes

HOLE_KINDS = ("bottom", "right", "centre", "rectangles", "brush")
METHODS = ("raster", "sir")


@dataclass(frozen=True)
class InpaintingEvalSpec:
    """The size of the notebook's inpainting evaluation: test digits, and K (raster candidates that sir weighs)."""

    images: int
    candidates: int


# ------------------------------------------------------------------------------------------------------ hole masks


def hole_mask(kind: str, n: int, height: int = 28, width: int = 28, seed: int = 0) -> torch.Tensor:
    """`known` (n, 1, height, width) bool, True where observed, for a hole family; reproducible by `seed`.

    bottom / right: the bottom / right half. centre: a centred square of half the side. rectangles: one to three
    random axis-aligned rectangles. brush: irregular free-form strokes (random walks drawn with a round brush), in
    the spirit of the irregular masks of Liu et al. 2018.
    """
    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    hole = torch.zeros(n, 1, height, width, dtype=torch.bool)
    generator = stream("holes", seed)
    if kind == "bottom":
        hole[:, :, height // 2 :] = True
    elif kind == "right":
        hole[:, :, :, width // 2 :] = True
    elif kind == "centre":
        top, left = height // 4, width // 4
        hole[:, :, top : top + height // 2, left : left + width // 2] = True
    elif kind == "rectangles":
        for k in range(n):
            for _ in range(int(torch.randint(1, 4, (), generator=generator))):
                h, w = (int(v) for v in torch.randint(5, height // 2 + 1, (2,), generator=generator))
                top = int(torch.randint(0, height - h + 1, (), generator=generator))
                left = int(torch.randint(0, width - w + 1, (), generator=generator))
                hole[k, 0, top : top + h, left : left + w] = True
    else:
        for k in range(n):
            hole[k, 0] = _brush_strokes(height, width, generator)
    return ~hole


def _brush_strokes(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Bool (height, width): 1-3 strokes, each a random walk of 3-6 segments drawn with a disc of radius 1.5-2.5."""
    rows, cols = torch.meshgrid(torch.arange(height).float(), torch.arange(width).float(), indexing="ij")
    hole = torch.zeros(height, width, dtype=torch.bool)
    uniform = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
    for _ in range(int(torch.randint(1, 4, (), generator=generator))):
        y, x = float(uniform() * height), float(uniform() * width)
        radius = 1.5 + float(uniform())
        for _ in range(int(torch.randint(3, 7, (), generator=generator))):
            angle, length = float(uniform() * 2 * math.pi), 3 + float(uniform() * 6)
            for t in torch.linspace(0, 1, 8):
                cy, cx = y + float(t) * length * math.sin(angle), x + float(t) * length * math.cos(angle)
                hole |= (rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2
            y = min(max(y + length * math.sin(angle), 0.0), height - 1.0)
            x = min(max(x + length * math.cos(angle), 0.0), width - 1.0)
    return hole


# --------------------------------------------------------------------------------------------------------- methods


@torch.no_grad()
def observed_log_likelihood(model: PixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """sum over observed pixels i of log p(x_i | x_<i), (N,): the importance weight of a raster completion."""
    log_p = -F.binary_cross_entropy_with_logits(model(x), x, reduction="none")
    return (log_p * known).flatten(1).sum(1)


@torch.no_grad()
def inpaint(
    model: PixelCNN,
    images: torch.Tensor,
    known: torch.Tensor,
    method: str = "raster",
    samples_per_image: int = 1,
    candidates: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Completions (N, S, 1, H, W) of binary images (N, 1, H, W) with S = samples_per_image; observed pixels are
    returned exactly. `candidates` is K, the raster completions per image that "sir" weighs and resamples from."""
    check_known(images, known)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if samples_per_image < 1 or candidates < 1:
        raise ValueError(
            f"samples_per_image and candidates must be at least 1, got {samples_per_image} and {candidates}"
        )
    n, s = images.shape[0], samples_per_image
    k = s if method == "raster" else candidates
    x = images.repeat_interleave(k, 0)
    mask = known.repeat_interleave(k, 0)
    completions = sample_holes(model, x, mask, generator)  # observed pixels come back bit for bit
    if method == "raster":
        return completions.view(n, s, *images.shape[1:])
    log_w = observed_log_likelihood(model, completions, mask).view(n, k).cpu()
    picks = torch.multinomial(torch.softmax(log_w, dim=1), s, replacement=True, generator=generator)  # (n, s)
    return completions.view(n, k, *images.shape[1:])[torch.arange(n)[:, None], picks.to(completions.device)]


# ---------------------------------------------------------------------------------------------------------- quality


@torch.no_grad()
def inpainting_quality(
    model: PixelCNN,
    classifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    kinds=HOLE_KINDS,
    methods=METHODS,
    samples_per_image: int = 1,
    candidates: int = 16,
    seed: int = 0,
) -> list[dict[str, float | str]]:
    """One row per (hole kind, method): hole-pixel accuracy against the ground truth, and how often the classifier
    gives the true label on the inpainted images, next to the masked images (hole set to 0) and the originals.

    images: binary (N, 1, 28, 28) ground truth; labels (N,).
    """
    from .classifier import predict

    rows = []
    original = (predict(classifier, images) == labels).float().mean().item()
    for kind in kinds:
        known = hole_mask(kind, images.shape[0], seed=seed)
        masked = (predict(classifier, images * known) == labels).float().mean().item()
        for method in methods:
            generator = stream("sampling", seed)
            out = inpaint(model, images, known, method, samples_per_image, candidates, generator)
            hole = (~known).unsqueeze(1).expand_as(out)
            truth = images.unsqueeze(1).expand_as(out)
            pixel_accuracy = (out[hole] == truth[hole]).float().mean().item()
            flat = out.flatten(0, 1)
            agree = (predict(classifier, flat) == labels.repeat_interleave(samples_per_image)).float().mean().item()
            rows.append(
                {
                    "holes": kind,
                    "method": method,
                    "hole_pixel_accuracy": pixel_accuracy,
                    "label_agreement_inpainted": agree,
                    "label_agreement_masked": masked,
                    "label_agreement_original": original,
                }
            )
    return rows


def quality_table(rows: list[dict[str, float | str]]) -> str:
    """Markdown table of `inpainting_quality` rows (percentages)."""
    lines = [
        "| holes | method | hole-pixel accuracy | classifier agrees: inpainted | masked | original |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['holes']} | {r['method']} | {100 * r['hole_pixel_accuracy']:.1f}% | "
            f"{100 * r['label_agreement_inpainted']:.1f}% | {100 * r['label_agreement_masked']:.1f}% | "
            f"{100 * r['label_agreement_original']:.1f}% |"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------------- figures


def plot_inpainting(
    model: PixelCNN,
    images: torch.Tensor,
    known: torch.Tensor,
    samples: int = 3,
    candidates: int = 16,
    seed: int = 0,
    title: str = "",
):
    """Figure: one row per image: original | masked (hole in grey) | `samples` completions per method."""
    import matplotlib.pyplot as plt

    outs = {m: inpaint(model, images, known, m, samples, candidates, stream("sampling", seed)) for m in METHODS}
    n, cols = images.shape[0], 2 + samples * len(METHODS)
    fig, axes = plt.subplots(n, cols, figsize=(0.9 * cols, 0.9 * n + 0.5), squeeze=False)
    headers = ["original", "masked"] + [f"{m} {j + 1}" for m in METHODS for j in range(samples)]
    for i in range(n):
        panels = [images[i, 0], torch.where(known[i, 0], images[i, 0], torch.full_like(images[i, 0], 0.5))]
        panels += [outs[m][i, j, 0] for m in METHODS for j in range(samples)]
        for j, panel in enumerate(panels):
            axes[i, j].imshow(panel.cpu(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[i, j].axis("off")
            if i == 0:
                axes[i, j].set_title(headers[j], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
