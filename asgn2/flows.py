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


class ActNorm(Transform):
    """z = (x - b) * exp(-log_s) per dimension (Kingma & Dhariwal 2018); log_det = -sum(log_s).

    It starts as the identity. `initialize(x)` sets b and log_s from a batch of real data so that z has zero mean and
    unit variance; the model that owns it calls that once, explicitly, before training. A forward pass never changes
    a parameter (so an odd first batch cannot ruin the layer).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation from a batch x (N, D) of real data, N >= 2, no dimension constant."""
        if x.shape[0] < 2 or not torch.isfinite(x).all() or (std := x.std(0)).eq(0).any():
            raise ValueError(
                "ActNorm.initialize needs a batch of at least 2 finite rows with no constant dimension "
                f"(a batch of real, dequantized data), got {tuple(x.shape)}"
            )
        self.bias.copy_(x.mean(0))
        self.log_scale.copy_(torch.log(std))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x - self.bias) * torch.exp(-self.log_scale)
        return z, (-self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z * torch.exp(self.log_scale) + self.bias, self.log_scale.sum().expand(z.shape[0])


class Permutation(Transform):
    """z = x[:, perm]: a fixed reordering of the dimensions; log_det = 0 (|det| of a permutation matrix is 1)."""

    def __init__(self, perm: torch.Tensor) -> None:
        super().__init__()
        if not torch.equal(perm.sort().values, torch.arange(perm.numel())):
            raise ValueError("perm must be a permutation of 0 .. D-1")
        self.register_buffer("perm", perm.clone())
        self.register_buffer("inverse_perm", perm.argsort())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z[:, self.inverse_perm], z.new_zeros(z.shape[0])


class LinearLU(Transform):
    """z = W x with W = L U (Kingma & Dhariwal 2018, for all D dimensions at once): L unit lower-triangular, U upper
    triangular with diagonal exp(log_s); both learned. log|det W| = sum(log_s). It starts as the identity (L = U = I),
    and the inverse solves two triangular systems."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lower = nn.Parameter(torch.zeros(dim, dim))  # only the strictly lower part is used
        self.upper = nn.Parameter(torch.zeros(dim, dim))  # only the strictly upper part is used
        self.log_s = nn.Parameter(torch.zeros(dim))

    def _factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        eye = torch.eye(self.log_s.numel(), device=self.log_s.device, dtype=self.log_s.dtype)
        return self.lower.tril(-1) + eye, self.upper.triu(1) + torch.diag(self.log_s.exp())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self._factors()
        return x @ upper.T @ lower.T, self.log_s.sum().expand(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self._factors()
        y = torch.linalg.solve_triangular(lower, z.T, upper=False, unitriangular=True)
        x = torch.linalg.solve_triangular(upper, y, upper=True).T
        return x, (-self.log_s.sum()).expand(z.shape[0])


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), (N,) for z (N, D)."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
