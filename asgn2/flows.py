"""Normalizing-flow building blocks with one contract (the z = f(x) direction of written Q2).

Every transform maps data to latent in `forward(x) -> (z, log_det)` with log_det = log|det dz/dx|, shape (N,), and
back in `inverse(z) -> (x, log_det)` with log_det = log|det dx/dz| = -(forward's). A `Composite` chains transforms
and sums their log-dets starting from zeros. With a base density q(z), the model density is (written Q2)

    log p(x) = log q(f(x)) + log|det df/dx|.

Tensors are flat, (N, D).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Transform(nn.Module):
    """A bijection: forward(x) -> (z, log|det dz/dx|), inverse(z) -> (x, log|det dx/dz|); log_dets (N,)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class Composite(Transform):
    """f = f_K o ... o f_1: forward applies the transforms in order, inverse in reverse; log-dets add up."""

    def __init__(self, transforms: list[Transform]) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for transform in self.transforms:
            x, ld = transform(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = z.new_zeros(z.shape[0])
        for transform in reversed(self.transforms):
            z, ld = transform.inverse(z)
            log_det = log_det + ld
        return z, log_det


class Scale(Transform):
    """z = c * x with a constant c > 0; log_det = D log c. Maps dequantized pixels [0, 256) to [0, 1) with c = 1/256."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        if factor <= 0:
            raise ValueError(f"factor must be positive, got {factor}")
        self.factor = factor

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * self.factor, x.new_full((x.shape[0],), x.shape[1] * math.log(self.factor))

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z / self.factor, z.new_full((z.shape[0],), -z.shape[1] * math.log(self.factor))


class Logit(Transform):
    """z = logit(s), s = lam + (1 - 2 lam) y, for y in [0, 1]: from the unit cube to all of R^D.

    lam keeps s away from 0 and 1 so that z stays finite: 1e-6 as in the MAF paper's MNIST set-up, 0.05 as in
    Real NVP. log|dz/dy| = log(1 - 2 lam) - log s - log(1 - s) per dimension.
    """

    def __init__(self, lam: float = 1e-6) -> None:
        super().__init__()
        if not 0 <= lam < 0.5:
            raise ValueError(f"lam must be in [0, 0.5), got {lam}")
        self.lam = lam

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.lam + (1 - 2 * self.lam) * y
        z = torch.log(s) - torch.log1p(-s)
        log_det = (math.log(1 - 2 * self.lam) - torch.log(s) - torch.log1p(-s)).sum(1)
        return z, log_det

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = torch.sigmoid(z)
        y = (s - self.lam) / (1 - 2 * self.lam)
        # log ds/dz = log sigmoid(z) + log sigmoid(-z), written with logsigmoid to stay finite for large |z|
        log_det = (nn.functional.logsigmoid(z) + nn.functional.logsigmoid(-z) - math.log(1 - 2 * self.lam)).sum(1)
        return y, log_det


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), (N,) for z (N, D)."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class DiagonalGaussianMixture(nn.Module):
    """A base density q(z) = sum over k of pi_k N(z; mu_k, diag sigma_k^2) on R^D, K components.

    means, log_scales: (K, D); weights pi: (K,), positive, summing to 1. Stored as buffers: the flow's training
    does not move them (`realnvp.fit_digit_base` fits them in closed form). One component with mu = 0, sigma = 1
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

    def sample(
        self, components: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu_k + T sigma_k eps, eps ~ N(0, I), one per entry k of `components` (n,): (n, D)."""
        eps = torch.randn(components.shape[0], self.means.shape[1], generator=generator).to(self.means)
        k = components.to(self.means.device)
        return self.means[k] + temperature * torch.exp(self.log_scales[k]) * eps
