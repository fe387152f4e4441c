"""Beyond programming Q2: the same trained Real NVP with a base that knows the digits, one Gaussian per digit y (as
Glow's class-conditional prior):

    q(z) = sum over y of pi(y) N(z; mu_y, diag sigma_y^2),    log p(v) = log q(f(v)) + log|det df/dv|,

exact, so its bits/dim compare with the plain flow's; p(v | y) is component y alone, so a sample of digit y draws its
latent from N(mu_y, T^2 sigma_y^2). Only the base changes: `flows.Flow(flow.transform, DiagonalGaussianMixture)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .data import PIXELS, label_frequencies
from .flows import Flow, check_temperature
from .randomness import generator as stream
from .realnvp import dequantize, to_images


class DiagonalGaussianMixture(nn.Module):
    """A base density q(z) = sum over k of pi_k N(z; mu_k, diag sigma_k^2) on R^D, K components.

    means, log_scales: (K, D); weights pi: (K,), positive, summing to 1. Stored as buffers: the flow's training
    does not move them (`fit_digit_base` fits them in closed form). One component with mu = 0, sigma = 1
    (`standard`) is the standard normal.
    """

    def __init__(self, means: torch.Tensor, log_scales: torch.Tensor, weights: torch.Tensor) -> None:
        super().__init__()
        k, d = means.shape
        if log_scales.shape != (k, d) or weights.shape != (k,):
            raise ValueError(
                f"means and log_scales must be (K, D) and weights (K,); got {tuple(means.shape)}, "
                f"{tuple(log_scales.shape)}, {tuple(weights.shape)}"
            )
        if bool((weights <= 0).any()) or abs(weights.sum().item() - 1) > 1e-5:
            raise ValueError("weights must be positive and sum to 1")
        self.register_buffer("means", means.float())
        self.register_buffer("log_scales", log_scales.float())
        self.register_buffer("log_weights", weights.float().log())

    @classmethod
    def standard(cls, dim: int) -> DiagonalGaussianMixture:
        """N(0, I) in `dim` dimensions, as a one-component mixture."""
        return cls(torch.zeros(1, dim), torch.zeros(1, dim), torch.ones(1))

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; mu_k, diag sigma_k^2) for each component k, (N, K), for z (N, D)."""
        u = (z[:, None, :] - self.means) * torch.exp(-self.log_scales)
        return -0.5 * (u**2).sum(2) - self.log_scales.sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z) = log sum over k of pi_k N(z; mu_k, sigma_k^2), (N,)."""
        return torch.logsumexp(self.log_weights + self.component_log_prob(z), dim=1)

    def sample_components(
        self, components: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu_k + T sigma_k eps, eps ~ N(0, I), one per entry k of `components` (n,) int in 0..K-1: (n, D)."""
        check_temperature(temperature)
        n_components = self.means.shape[0]
        if components.dim() != 1 or bool(((components < 0) | (components >= n_components)).any()):
            raise ValueError(
                f"components must be a 1-D int tensor of component indices 0..{n_components - 1} (the digits), "
                f"got {components.tolist() if components.numel() <= 20 else tuple(components.shape)}"
            )
        eps = torch.randn(components.shape[0], self.means.shape[1], generator=generator).to(self.means)
        k = components.to(self.means.device)
        return self.means[k] + temperature * torch.exp(self.log_scales[k]) * eps

    def sample_with_components(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n latents (n, D) of the mixture, k ~ pi then `sample_components`, and their components k (n,)."""
        components = torch.multinomial(self.log_weights.exp().cpu(), n, replacement=True, generator=generator)
        return self.sample_components(components, temperature, generator), components

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latents (n, D) of the mixture (`sample_with_components` without the components)."""
        return self.sample_with_components(n, temperature, generator)[0]


@torch.no_grad()
def fit_digit_base(
    flow: Flow, images: torch.Tensor, labels: torch.Tensor, *, seed: int = 0, batch_size: int = 1000
) -> DiagonalGaussianMixture:
    """The maximum-likelihood per-digit base of a trained flow, in closed form. With f fixed,

        sum over training digits of log pi(y) + log N(f(v); mu_y, diag sigma_y^2) + log|det df/dv|

    is maximised by pi the label frequencies and mu_y, sigma_y^2 the mean and variance of the latents z = f(v) of
    digit y's training images, each dequantized once ("base-fit" stream, `seed`). images uint8 (N, 1, 28, 28),
    labels (N,)."""
    flow.eval()
    device = next(flow.parameters()).device
    noise = stream("base-fit", seed)
    sums, squares = torch.zeros(10, PIXELS, dtype=torch.float64), torch.zeros(10, PIXELS, dtype=torch.float64)
    for chunk, chunk_labels in zip(images.split(batch_size), labels.split(batch_size), strict=True):
        z = flow.transform(dequantize(chunk, noise).to(device))[0].double().cpu()
        sums.index_add_(0, chunk_labels, z)
        squares.index_add_(0, chunk_labels, z**2)
    counts = torch.bincount(labels, minlength=10).double()[:, None]
    if bool((counts < 2).any()):
        raise ValueError("every digit 0-9 needs at least two training images to fit its Gaussian")
    means = sums / counts
    variances = (squares / counts - means**2).clamp_min(1e-6)
    return DiagonalGaussianMixture(means.float(), 0.5 * variances.log().float(), label_frequencies(labels)).to(device)


def digit_flow(flow: Flow, images: torch.Tensor, labels: torch.Tensor, *, seed: int = 0) -> Flow:
    """The trained flow's transform with the per-digit base fitted to it (`fit_digit_base`)."""
    return Flow(flow.transform, fit_digit_base(flow, images, labels, seed=seed))


@torch.no_grad()
def sample_told(
    flow: Flow, labels: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One uint8 image (n, 1, 28, 28) of each digit in `labels` (n,): z ~ N(mu_y, T^2 sigma_y^2), v = f^-1(z)."""
    flow.eval()
    return to_images(flow.transform.inverse(flow.base.sample_components(labels, temperature, generator))[0])


@torch.no_grad()
def sample_with_labels(
    flow: Flow, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """n uint8 images (n, 1, 28, 28) of the mixture, y ~ pi then z ~ N(mu_y, T^2 sigma_y^2), and their digits (n,)."""
    flow.eval()
    z, labels = flow.base.sample_with_components(n, temperature, generator)
    return to_images(flow.transform.inverse(z)[0]), labels
