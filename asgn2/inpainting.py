"""Beyond programming Q1: inpainting methods and baselines compared (the question's method is `pixelcnn.inpaint`).

`known` is a bool tensor (N, 1, H, W), True where the pixel is observed; the hole is `~known`. Every method returns
S completions per image, (N, S, 1, H, W), with the observed pixels bit for bit.

- "raster": `pixelcnn.inpaint` by the cached sampler (the same completions): the hole pixels in raster order from
  p(x_i | x_<i), the model used as a plain PixelCNN. It conditions on the observed pixels above and to the left of
  each hole pixel only: visible pixels below or right of the hole are ignored.
- "sir" (sampling-importance-resampling): draw K raster completions per image (the proposal q(x_hole)), weight each
  by p(x_hole, x_obs) / q(x_hole) = prod over observed i of p(x_i | x_<i), the likelihood the model gives the
  observed pixels, and resample S of them. As K grows this samples the exact conditional p(x_hole | x_obs) of the
  model's joint; with a small K it repeats the few candidates that explain the observed pixels best.
- "conditional": a conditional PixelCNN that sees every observed pixel, wherever it is
  (`conditional.ConditionalPixelCNN`), as a label mixture:
  p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y). Draw the digit y from its recogniser r,
  then the hole pixels in raster order from p(x_i | x_<i, x_obs, y), the network told y. Exact, no K; its likelihood
  is `conditional.mixture_hole_log_prob`.
Baselines: "black" leaves the hole at 0 (the masked image); "nearest" copies the hole pixels of the training digit
closest to the image on its observed pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .conditional import ConditionalPixelCNN
from .pixelcnn import PixelCNN
from .randomness import generator as stream
from .sampler import check_known, sample_and_score, sample_holes

METHODS = ("raster", "sir", "conditional")


@dataclass
class SIR:
    """What sampling-importance-resampling drew: `completions` (N, S, 1, H, W), picked from `candidates`
    (N, K, 1, H, W) by index `picks` (N, S) in proportion to exp(`log_weights`) (N, K)."""

    completions: torch.Tensor
    candidates: torch.Tensor
    log_weights: torch.Tensor
    picks: torch.Tensor

    def effective_sample_size(self) -> torch.Tensor:
        """(sum w)^2 / sum w^2 per image, (N,): how many of the K candidates the weights effectively keep."""
        return effective_sample_size(self.log_weights)

    def log_evidence(self) -> torch.Tensor:
        """The importance-sampling estimate of log p(x_obs), (N,): log of the mean weight. Its expectation is at
        most log p(x_obs) (Jensen): an estimate that errs low."""
        return torch.logsumexp(self.log_weights, dim=1) - math.log(self.log_weights.shape[1])


def effective_sample_size(log_weights: torch.Tensor) -> torch.Tensor:
    """(sum w)^2 / sum w^2 along the last dimension, from log-weights."""
    return torch.exp(2 * torch.logsumexp(log_weights, -1) - torch.logsumexp(2 * log_weights, -1))


def _check(images: torch.Tensor, known: torch.Tensor, samples: int, candidates: int = 1) -> None:
    check_known(images, known)
    if samples < 1 or candidates < 1:
        raise ValueError(f"samples_per_image and candidates must be at least 1, got {samples} and {candidates}")


def _completions(
    model: PixelCNN, images: torch.Tensor, known: torch.Tensor, *, samples: int, generator, conditional: bool
) -> torch.Tensor:
    _check(images, known, samples)
    out = sample_holes(model, images, known, generator=generator, conditional=conditional, repeats=samples)
    return out.view(images.shape[0], samples, *images.shape[1:])


def raster(
    model: PixelCNN, images: torch.Tensor, known: torch.Tensor, *, samples: int = 1, generator=None
) -> torch.Tensor:
    """S raster-order completions per image from p(x_i | x_<i): (N, S, 1, H, W)."""
    return _completions(model, images, known, samples=samples, generator=generator, conditional=False)


def sir(
    model: PixelCNN,
    images: torch.Tensor,
    known: torch.Tensor,
    *,
    samples: int = 1,
    candidates: int = 16,
    generator=None,
) -> SIR:
    """Sampling-importance-resampling: K raster completions per image weighted by the model's likelihood of the
    observed pixels, S resampled with replacement (so a completion can be drawn more than once)."""
    _check(images, known, samples, candidates)
    n = images.shape[0]
    out, log_w = sample_and_score(model, images, known, generator=generator, repeats=candidates)
    log_w = log_w.view(n, candidates).cpu()
    picks = torch.multinomial(torch.softmax(log_w, dim=1), samples, replacement=True, generator=generator)
    pool = out.view(n, candidates, *images.shape[1:])
    return SIR(pool[torch.arange(n)[:, None], picks.to(pool.device)], pool, log_w, picks)


def conditional(
    model: PixelCNN, images: torch.Tensor, known: torch.Tensor, *, samples: int = 1, generator=None
) -> torch.Tensor:
    """S completions per image from the label mixture of a conditional PixelCNN: (N, S, 1, H, W). Each completion
    draws its digit y ~ r(y | x_observed), then its hole pixels from p(x_i | x_<i, x_observed, y)."""
    return label_mixture(model, images, known, samples=samples, generator=generator)[0]


@torch.no_grad()
def label_mixture(
    model: PixelCNN, images: torch.Tensor, known: torch.Tensor, *, samples: int = 1, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """S completions per image from the label mixture, (N, S, 1, H, W), and the digit each was told, (N, S).

    A label y ~ r(y | x_observed) per completion (the recogniser's posterior, `class_log_posterior`), then
    the hole pixels in raster order from p(x_i | x_<i, x_observed, y) by the cached sampler. Both steps see the
    observed pixels only: exact draws from p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y).
    """
    _check(images, known, samples)
    if not isinstance(model, ConditionalPixelCNN):
        raise ValueError("conditional inpainting needs a conditional.ConditionalPixelCNN")
    n = images.shape[0]
    posterior = model.class_log_posterior(images, known).exp().cpu()
    labels = torch.multinomial(posterior, samples, replacement=True, generator=generator).to(images.device)
    out = sample_holes(
        model, images, known, generator=generator, conditional=True, repeats=samples, labels=labels.flatten()
    )
    return out.view(n, samples, *images.shape[1:]), labels


@torch.no_grad()
def inpaint(
    model: PixelCNN,
    images: torch.Tensor,
    known: torch.Tensor,
    method: str = "conditional",
    *,
    samples_per_image: int = 1,
    candidates: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Completions (N, S, 1, H, W) of binary images (N, 1, H, W) with S = samples_per_image, by `method` (one of
    METHODS); observed pixels are returned exactly. `candidates` is K, the raster completions "sir" weighs."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "sir":
        return sir(
            model, images, known, samples=samples_per_image, candidates=candidates, generator=generator
        ).completions
    draw = raster if method == "raster" else conditional
    return draw(model, images, known, samples=samples_per_image, generator=generator)


# -------------------------------------------------------------------------------------------------------- baselines


def black(images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The masked image, hole left at 0: (N, 1, 1, H, W)."""
    check_known(images, known)
    return (images * known).unsqueeze(1)


@torch.no_grad()
def nearest_training_digits(
    images: torch.Tensor, known: torch.Tensor, train_binary: torch.Tensor, k: int = 1, chunk: int = 10000
) -> torch.Tensor:
    """Indices (N, k) of the k binary training digits closest to each binary image in Hamming distance on the image's
    observed pixels only, nearest first.

    sum over observed i of |a_i - b_i| = sum_obs a + sum_obs b - 2 sum_obs a b: two matrix products per chunk.
    """
    check_known(images, known)
    m = known.flatten(1).float()
    a = images.flatten(1) * m
    best_d, best_i = None, None
    for start in range(0, train_binary.shape[0], chunk):
        b = train_binary[start : start + chunk].flatten(1).to(a)
        d = a.sum(1, keepdim=True) + m @ b.T - 2 * a @ b.T  # (N, chunk)
        d_k, i_k = d.topk(min(k, d.shape[1]), dim=1, largest=False)
        i_k = i_k + start
        if best_d is None:
            best_d, best_i = d_k, i_k
        else:
            d_all, i_all = torch.cat([best_d, d_k], 1), torch.cat([best_i, i_k], 1)
            order = d_all.topk(k, dim=1, largest=False).indices
            best_d, best_i = d_all.gather(1, order), i_all.gather(1, order)
    return best_i


def nearest(images: torch.Tensor, known: torch.Tensor, train_binary: torch.Tensor) -> torch.Tensor:
    """The hole filled with the pixels of the nearest training digit on the observed pixels: (N, 1, 1, H, W)."""
    index = nearest_training_digits(images, known, train_binary, k=1)[:, 0]
    donor = train_binary[index.cpu()].to(images)
    return torch.where(known, images, donor).unsqueeze(1)


# --------------------------------------------------------------------------------------------------------- figures


def distinct(completions: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """The distinct completions of one image (S, 1, H, W) in order of first appearance, and how often each was drawn:
    a figure shows a completion drawn twice once, marked x2, not as two samples."""
    flat = completions.flatten(1)
    kept: list[int] = []
    counts: list[int] = []
    for j in range(flat.shape[0]):
        for slot, i in enumerate(kept):
            if torch.equal(flat[i], flat[j]):
                counts[slot] += 1
                break
        else:
            kept.append(j)
            counts.append(1)
    return completions[kept], counts


def plot_inpainting(
    model: PixelCNN,
    images: torch.Tensor,
    known: torch.Tensor,
    *,
    samples: int = 3,
    candidates: int = 16,
    seed: int = 0,
    title: str = "",
    methods: tuple[str, ...] = METHODS,
):
    """Figure: one row per image: original | masked (hole in grey) | `samples` completions per method. A completion
    that sir drew more than once is shown once, labelled with its count (xk); the rest of its slots stay empty."""
    import matplotlib.pyplot as plt

    outs = {  # every method from the same seed: each draws from its own generator
        m: inpaint(
            model,
            images,
            known,
            m,
            samples_per_image=samples,
            candidates=candidates,
            generator=stream("sampling", seed),
        )
        for m in methods
    }
    n, cols = images.shape[0], 2 + samples * len(methods)
    fig, axes = plt.subplots(n, cols, figsize=(0.95 * cols, 1.0 * n + 0.4), squeeze=False)
    for i in range(n):
        panels = [("original", images[i, 0]), ("masked", torch.where(known[i, 0], images[i, 0], 0.5))]
        for m in methods:
            shown, counts = distinct(outs[m][i])
            panels += [(f"{m} x{c}" if c > 1 else m, shown[j, 0]) for j, c in enumerate(counts)]
            panels += [("", None)] * (samples - len(counts))
        for j, (label, panel) in enumerate(panels):
            axes[i, j].axis("off")
            if panel is not None:
                axes[i, j].imshow(panel.cpu(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                axes[i, j].set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
