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


class StandardNormal(nn.Module):
    """The base distribution N(0, I) on R^D: log_prob(z) (N,) for z (N, D), and sample(n, temperature)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.register_buffer("_zero", torch.zeros(()))  # follows the module's device and dtype: samples in them

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I), (N,)."""
        return -0.5 * (z**2).sum(1) - 0.5 * self.dim * math.log(2 * math.pi)

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, T^2 I), (n, D), in the module's dtype and on its device."""
        check_temperature(temperature)
        return temperature * torch.randn(n, self.dim, generator=generator, dtype=self._zero.dtype).to(self._zero.device)


class Flow(nn.Module):
    """A normalizing flow: a transform f (data -> latent) paired with a base distribution q of the latent.

        log p(x) = log q(f(x)) + log|det df/dx|,    x = f^-1(z), z ~ q.

    A new base (say, one Gaussian per digit) is a new distribution with `log_prob` and `sample`, nothing more."""

    def __init__(self, transform: Transform, base: nn.Module) -> None:
        super().__init__()
        self.transform, self.base = transform, base

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, (N,)."""
        z, log_det = self.transform(x)
        return self.base.log_prob(z) + log_det

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws x = f^-1(z), z from the base at temperature T (its standard deviation scaled by T)."""
        return self.transform.inverse(self.base.sample(n, temperature, generator))[0]


def check_temperature(temperature: float) -> None:
    """Raise ValueError unless the temperature (the latent's standard deviation factor) is finite and >= 0."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and >= 0 (the latent's standard deviation), got {temperature}")
