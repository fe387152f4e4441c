"""Programming Q2: Real NVP with fully-connected scale and translation networks on MNIST.

Data: a uint8 image x in {0..255}^D, D = 784, dequantized to v = x + u with u ~ U[0, 1)^D. The flow maps
v -> y = v / 256 in [0, 1)^D (`Scale`) -> logit space (`Logit`) -> affine couplings -> z ~ N(0, I), so

    log p(v) = log N(f(v); 0, I) + log|det df/dv|

is a density over pixel units. Each integer pixel owns a unit-width bin, so -log p(v) is (an upper bound on, in
expectation over u) the code length of the discrete image, and bits/dim = -log p(v) / (D ln 2).

One subtlety, checked in the tests: the logit's domain is y in (-c, 1 + c) with c = lam / (1 - 2 lam), a little
wider than [0, 1], so the model's density of v integrates to 1 over 256 * (-c, 1 + c) and puts slightly less than
all of its mass on [0, 256)^D. The reported bits/dim are therefore a valid, slightly conservative bound (negligibly
so for lam = LAM = 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .data import IMAGE_SHAPE, PIXELS, check_uint8_images
from .flows import Composite, Flow, Logit, Scale, StandardNormal, Transform
from .randomness import generator as stream
from .randomness import seeded
from .runs import train_or_load
from .training import History, TrainConfig
from .units import bits_per_dim

LAM = 1e-6  # of the logit transform, as in the MAF paper's MNIST set-up


def checkerboard(height: int = 28, width: int = 28, parity: int = 0) -> torch.Tensor:
    """Bool mask (height * width,), True on the pixels with (row + col) % 2 == parity."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return ((rows + cols) % 2 == parity).flatten()


class AffineCoupling(Transform):
    """z = x on the conditioning half; z = x * exp(s(x_cond)) + t(x_cond) on the rest (Dinh et al. 2017).

    s and t come from one fully-connected network of the conditioning half, selected by index (D/2 inputs, D outputs:
    s and t for the D/2 transformed dimensions). The Jacobian is triangular with diagonal exp(s) on the transformed
    half, so log|det dz/dx| = sum(s). The scale is bounded, s = a * tanh(s_raw) with a learned per-dimension a
    (init 1), so exp(s) cannot blow up early in training; the last layer starts at zero, so the coupling starts as
    the identity.

    mask: bool (D,), True = passed through (conditioning). x: (N, D).
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 256, n_hidden: int = 1) -> None:
        super().__init__()
        self.register_buffer("cond", mask.nonzero().flatten())
        self.register_buffer("free", (~mask).nonzero().flatten())
        n_cond, n_free = self.cond.numel(), self.free.numel()
        layers: list[nn.Module] = [nn.Linear(n_cond, hidden), nn.ReLU()]
        for _ in range(n_hidden - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, 2 * n_free))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)
        self.scale_bound = nn.Parameter(torch.ones(n_free))

    def scale_and_shift(self, x_cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, t), each (N, D/2): the log-scale and shift of the transformed half."""
        s_raw, t = self.net(x_cond).chunk(2, dim=1)
        return self.scale_bound * torch.tanh(s_raw), t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.scale_and_shift(x[:, self.cond])
        z = x.clone()
        z[:, self.free] = x[:, self.free] * torch.exp(s) + t
        return z, s.sum(1)

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.scale_and_shift(z[:, self.cond])  # the conditioning half passed through unchanged
        x = z.clone()
        x[:, self.free] = (z[:, self.free] - t) * torch.exp(-s)
        return x, -s.sum(1)


@dataclass(frozen=True)
class RealNVPConfig:
    """The flow; the defaults are the default profile's."""

    n_couplings: int = 12
    hidden: int = 256
    n_hidden: int = 1  # hidden layers of each s/t network


class RealNVP(Transform):
    """The transform f: v (N, 1, 28, 28) or (N, 784) dequantized pixels in [0, 256) -> z (N, 784).

    Scale to [0, 1), logit, then `n_couplings` affine couplings whose checkerboard masks alternate, so every pixel
    is transformed by every other coupling and conditions the ones between. The log-determinant of the
    preprocessing is part of the likelihood: `flows.Scale` (784 log(1/256)) and `flows.Logit`.
    """

    def __init__(self, config: RealNVPConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or RealNVPConfig()
        self.preprocess = Composite([Scale(1 / 256), Logit(LAM)])
        self.couplings = Composite(
            [
                AffineCoupling(checkerboard(parity=k % 2), config.hidden, config.n_hidden)
                for k in range(config.n_couplings)
            ]
        )

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_pre = self.preprocess(check_pixels(v).flatten(1))
        z, log_det_couplings = self.couplings(y)
        return z, log_det_pre + log_det_couplings

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_couplings = self.couplings.inverse(z)
        v, log_det_pre = self.preprocess.inverse(y)
        return v, log_det_couplings + log_det_pre


def real_nvp(config: RealNVPConfig | None = None) -> Flow:
    """The model: `RealNVP` paired with the standard normal base N(0, I) on R^784,
    log p(v) = log N(f(v); 0, I) + log|det df/dv|."""
    return Flow(RealNVP(config), StandardNormal(PIXELS))


def to_images(v: torch.Tensor) -> torch.Tensor:
    """Dequantized pixels v (n, 784) in [0, 256) -> uint8 images (n, 1, 28, 28): x = floor(v) (clamped into range)."""
    return v.reshape(v.shape[0], *IMAGE_SHAPE).clamp(0, 256 - 1e-3).floor().to(torch.uint8)


@torch.no_grad()
def sample(flow: Flow, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """n uint8 images (n, 1, 28, 28): z ~ N(0, T^2 I), v = f^-1(z), x = floor(v)."""
    flow.eval()
    return to_images(flow.sample(n, temperature, generator))


def check_pixels(v: torch.Tensor) -> torch.Tensor:
    """Raise ValueError unless v is float (N, 1, 28, 28) or (N, 784), finite, with values in [0, 256)."""
    if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.shape[1:] not in ((PIXELS,), IMAGE_SHAPE):
        got = f"{v.dtype} {tuple(v.shape)}" if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(
            f"expected dequantized pixels: float (N, 1, 28, 28) or (N, 784) in [0, 256) (use dequantize), got {got}"
        )
    if not torch.isfinite(v).all():
        raise ValueError("expected finite pixel values in [0, 256), got NaN or infinite entries")
    if v.numel() and (v.min() < 0 or v.max() >= 256):
        raise ValueError(
            f"pixel values must lie in [0, 256) (x + u, u in [0, 1)), got [{v.min().item():.6g}, {v.max().item():.6g}]"
        )
    return v


def dequantize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> v = x + u, u ~ U[0, 1): float32 in [x, x + 1), so in [0, 256).

    In float32, x + u rounds up to x + 1 when u is within half a spacing of 1 (e.g. 255 + (1 - 2^-24) == 256.0);
    such a v is moved to the largest float below x + 1, so that every v stays in its own pixel's bin."""
    check_uint8_images(images)
    x = images.float()
    v = x + torch.rand(images.shape, generator=generator).to(images.device)
    top = torch.nextafter(x + 1, x)
    return torch.where(v < x + 1, v, top)


# ------------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class RealNVPSpec:
    """Everything that makes a trained Real NVP: the flow, the training run and the data choices."""

    name: str  # names the checkpoint file: realnvp-<name>.pt
    model: RealNVPConfig = field(default_factory=RealNVPConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval_images: int = 2000  # test images for the evaluations during training (the reported figure uses all 10000)


def realnvp_loss(model: Flow, images: torch.Tensor) -> torch.Tensor:
    """Mean bits/dim of a freshly dequantized batch (the noise comes from the training stream: the global RNG that
    the loop seeds and checkpoints)."""
    v = dequantize(images).to(next(model.parameters()).dtype)  # float32 noise, in the flow's dtype (say, float64)
    return bits_per_dim(-model.log_prob(v)).mean()


@torch.no_grad()
def bits_per_dim_per_image(
    model: nn.Module, images: torch.Tensor, seed: int = 0, batch_size: int = 1000
) -> torch.Tensor:
    """Bits/dim of each of the uint8 images (N, 1, 28, 28) under a flow (anything with `log_prob`), (N,) float64,
    dequantized with evaluation seed `seed` of the "eval-dequantization" stream (disjoint from the noise training
    draws): two flows scored with the same seed see the same noise, so their difference is paired."""
    model.eval()
    parameter = next(model.parameters())
    noise = stream("eval-dequantization", seed)
    out = []
    for chunk in images.split(batch_size):
        v = dequantize(chunk, noise).to(parameter.device, parameter.dtype)
        out.append(bits_per_dim(-model.log_prob(v)).double().cpu())
    return torch.cat(out)


def test_bits_per_dim(model: nn.Module, images: torch.Tensor, seed: int = 0, batch_size: int = 1000) -> float:
    """Mean bits/dim of a flow over uint8 images (N, 1, 28, 28): `bits_per_dim_per_image`, averaged."""
    return bits_per_dim_per_image(model, images, seed, batch_size).mean().item()


def train_realnvp(
    spec: RealNVPSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[Flow, History]:
    """Train (or load the finished run cached for this spec) a Real NVP on uint8 training digits (N, 1, 28, 28);
    evaluations during training use the first `spec.eval_images` test digits."""
    eval_images = test_images[: spec.eval_images]
    eval_fn = lambda m: {"test_bpd": test_bits_per_dim(m, eval_images)}  # noqa: E731
    with seeded("init", spec.train.seed):
        model = real_nvp(spec.model)
    return train_or_load(model, "realnvp", spec, realnvp_loss, train_images, eval_fn, device, retrain)
