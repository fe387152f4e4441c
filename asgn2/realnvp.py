"""Programming Q2: Real NVP with fully-connected scale and translation networks on MNIST.

Data: a uint8 image x in {0..255}^D, D = 784, dequantized to v = x + u with u ~ U[0, 1)^D. The flow maps
v -> y = v / 256 in [0, 1)^D (`Scale`) -> logit space (`Logit`) -> couplings (+ actnorm) -> z ~ N(0, I), so

    log p(v) = log N(f(v); 0, I) + log|det df/dv|

is a density over pixel units. Each integer pixel owns a unit-width bin, so -log p(v) is (an upper bound on, in
expectation over u) the code length of the discrete image, and bits/dim = -log p(v) / (D ln 2).

One subtlety, checked in the tests: the logit's domain is y in (-c, 1 + c) with c = lam / (1 - 2 lam), a little
wider than [0, 1], so the model's density of v integrates to 1 over 256 * (-c, 1 + c) and puts slightly less than
all of its mass on [0, 256)^D. The reported bits/dim are therefore a valid, slightly conservative bound (negligibly
so for lam = 1e-6).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .data import check_uint8_images, load_mnist
from .flows import ActNorm, Composite, Logit, Scale, Transform, standard_normal_log_prob
from .profiles import resolve_profile
from .training import History, TrainConfig, checkpoint_dir, fit_or_load, train

D = 784
IMAGE_SHAPE = (1, 28, 28)


def checkerboard(height: int = 28, width: int = 28, parity: int = 0) -> torch.Tensor:
    """Bool mask (height * width,), True on the pixels with (row + col) % 2 == parity."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return ((rows + cols) % 2 == parity).flatten()


class AffineCoupling(Transform):
    """z = x on the masked half; z = x * exp(s(x_masked)) + t(x_masked) on the rest (Dinh et al. 2017).

    s and t come from one fully-connected network of the masked half. The Jacobian is triangular with diagonal
    exp(s) on the transformed half, so log|det dz/dx| = sum(s). The scale is bounded, s = a * tanh(s_raw) with a
    learned per-dimension a (init 1), so exp(s) cannot blow up early in training; the last layer starts at zero,
    so the coupling starts as the identity.

    mask: bool (D,), True = passed through (conditioning). x: (N, D).
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 1024, n_hidden: int = 1) -> None:
        super().__init__()
        dim = mask.numel()
        self.register_buffer("mask", mask.to(torch.float32))
        layers: list[nn.Module] = [nn.Linear(dim, hidden), nn.ReLU()]
        for _ in range(n_hidden - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)
        self.scale_bound = nn.Parameter(torch.ones(dim))

    def scale_and_shift(self, x_masked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, t), each (N, D) and zero on the masked half."""
        s_raw, t = self.net(x_masked).chunk(2, dim=1)
        free = 1 - self.mask
        return free * self.scale_bound * torch.tanh(s_raw), free * t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_masked = x * self.mask
        s, t = self.scale_and_shift(x_masked)
        return x_masked + (1 - self.mask) * (x * torch.exp(s) + t), s.sum(1)

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_masked = z * self.mask  # equals x_masked: the masked half passed through unchanged
        s, t = self.scale_and_shift(z_masked)
        return z_masked + (1 - self.mask) * ((z - t) * torch.exp(-s)), -s.sum(1)


@dataclass
class RealNVPConfig:
    n_couplings: int = 8
    hidden: int = 1024
    n_hidden: int = 1  # hidden layers of each s/t network
    actnorm: bool = True  # an ActNorm flow layer after every coupling
    lam: float = 1e-6  # of the logit transform


class RealNVP(Transform):
    """v (N, 1, 28, 28) or (N, 784) dequantized pixels in [0, 256) <-> z (N, 784), base N(0, I).

    Masks alternate between the two checkerboards, so every pixel is transformed by every other coupling.
    """

    def __init__(self, config: RealNVPConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or RealNVPConfig()
        self.preprocess = Composite([Scale(1 / 256), Logit(config.lam)])
        layers: list[Transform] = []
        for k in range(config.n_couplings):
            layers.append(AffineCoupling(checkerboard(parity=k % 2), config.hidden, config.n_hidden))
            if config.actnorm:
                layers.append(ActNorm(D))
        self.flow = Composite(layers)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_pre = self.preprocess(check_pixels(v).flatten(1))
        z, log_det_flow = self.flow(y)
        return z, log_det_pre + log_det_flow

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_flow = self.flow.inverse(z)
        v, log_det_pre = self.preprocess.inverse(y)
        return v, log_det_flow + log_det_pre

    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) in nats, (N,), for dequantized pixels v in [0, 256)."""
        z, log_det = self.forward(v)
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None, as_uint8: bool = True
    ) -> torch.Tensor:
        """n images (n, 1, 28, 28): z ~ N(0, T^2 I) mapped back; uint8 (floor of v) or float v/256 in [0, 1]."""
        device = next(self.parameters()).device
        z = temperature * torch.randn(n, D, generator=generator).to(device)
        v = self.inverse(z)[0].view(n, *IMAGE_SHAPE).clamp(0, 256 - 1e-3)
        return v.floor().to(torch.uint8) if as_uint8 else v / 256


def check_pixels(v: torch.Tensor) -> torch.Tensor:
    """Raise ValueError unless v is float (N, 1, 28, 28) or (N, 784) with values in [0, 256]."""
    if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.shape[1:] not in ((D,), IMAGE_SHAPE):
        got = f"{v.dtype} {tuple(v.shape)}" if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(
            f"expected dequantized pixels: float (N, 1, 28, 28) or (N, 784) in [0, 256) (use dequantize), got {got}"
        )
    if v.numel() and (v.min() < 0 or v.max() > 256):
        raise ValueError(f"pixel values must lie in [0, 256], got [{v.min().item():.3g}, {v.max().item():.3g}]")
    return v


def dequantize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> v = x + u, u ~ U[0, 1): float32 in [0, 256)."""
    check_uint8_images(images)
    return images.float() + torch.rand(images.shape, generator=generator).to(images.device)


def bits_per_dim(log_prob_nats: torch.Tensor) -> torch.Tensor:
    """-log p(v) / (D ln 2): the code length per pixel of the discrete image (unit bins)."""
    return -log_prob_nats / (D * math.log(2))


# ------------------------------------------------------------------------------------------------------ training


@dataclass
class RealNVPProfile:
    model: RealNVPConfig
    train: TrainConfig
    eval_images: int = 2000  # test images for the evaluations during training (the final figure uses all 10000)


PROFILES: dict[str, RealNVPProfile] = {
    "quick": RealNVPProfile(
        RealNVPConfig(n_couplings=4, hidden=256),
        TrainConfig(epochs=1, max_steps=200, lr=1e-3, warmup_steps=20, eval_every=100, desc="realnvp"),
        eval_images=1000,
    ),
    "default": RealNVPProfile(
        RealNVPConfig(n_couplings=8, hidden=1024),
        TrainConfig(
            epochs=10,
            max_steps=450,
            time_budget_s=200,
            lr=1e-3,
            warmup_steps=100,
            weight_decay=1e-5,
            eval_every=90,
            checkpoint_every=90,
            desc="realnvp",
        ),
    ),
    "full": RealNVPProfile(
        RealNVPConfig(n_couplings=10, hidden=1024, n_hidden=2),
        TrainConfig(
            epochs=100,
            lr=1e-3,
            warmup_steps=500,
            weight_decay=1e-5,
            eval_every=5000,
            checkpoint_every=2000,
            desc="realnvp",
        ),
    ),
}


def realnvp_loss(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Mean bits/dim of a freshly dequantized batch (the dequantization noise comes from the global RNG)."""
    return bits_per_dim(model.log_prob(dequantize(images))).mean()


@torch.no_grad()
def test_bits_per_dim(model: RealNVP, images: torch.Tensor, seed: int = 0, batch_size: int = 1000) -> float:
    """Mean bits/dim over uint8 images (N, 1, 28, 28), dequantized with a generator seeded by `seed`."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for chunk in images.split(batch_size):
        total += bits_per_dim(model.log_prob(dequantize(chunk, generator).to(device))).sum().item()
    return total / images.shape[0]


def checkpoint_path(profile: str) -> Path:
    return checkpoint_dir() / f"realnvp-{profile}.pt"


def train_realnvp(
    profile: str | None = None, root: str | None = None, device: str | None = None, retrain: bool = False
) -> tuple[RealNVP, History]:
    """Train (or load the cached) Real NVP of `profile` on MNIST; return it and its history (eval: test_bpd)."""
    profile = resolve_profile(profile)
    spec = PROFILES[profile]
    path = checkpoint_path(profile)
    model = RealNVP(spec.model)

    def fit() -> History:
        train_images = load_mnist("train", root)[0]
        eval_images = load_mnist("test", root)[0][: spec.eval_images]
        return train(
            model,
            realnvp_loss,
            train_images,
            spec.train,
            eval_fn=lambda m: {"test_bpd": test_bits_per_dim(m, eval_images)},
            checkpoint=path,
            device=device,
        )

    return fit_or_load(model, path, fit, retrain, device)


# -------------------------------------------------------------------------------------------------------- figures


@torch.no_grad()
def interpolate(model: RealNVP, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Images (steps, 1, 28, 28) in [0, 1] along the straight line between the latents of uint8 images a and b
    (each (1, 28, 28)), dequantized at the bin centres (x + 0.5) so the end points are the images themselves."""
    model.eval()
    device = next(model.parameters()).device
    z = model(torch.stack([a, b]).float().add(0.5).to(device))[0]
    weights = torch.linspace(0, 1, steps, device=device)[:, None]
    v = model.inverse((1 - weights) * z[0] + weights * z[1])[0]
    return (v.clamp(0, 255.999).floor() / 255).view(steps, *IMAGE_SHAPE).cpu()


def nearest_neighbours(samples: torch.Tensor, train_images: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Indices (n, k) of the k training images closest in Euclidean pixel distance to each uint8 sample."""
    a = samples.flatten(1).float()
    out = []
    for chunk in train_images.split(10000):
        out.append(torch.cdist(a, chunk.flatten(1).float()))
    return torch.cat(out, 1).topk(k, largest=False).indices


def _cli_train(args: argparse.Namespace) -> None:
    profile = resolve_profile(args.profile)
    model, history = train_realnvp(profile, args.data, args.device, retrain=args.retrain)
    bpd = test_bits_per_dim(model, load_mnist("test", args.data)[0])
    print(
        f"realnvp ({profile}): test {bpd:.4f} bits/dim (10000 test images, dequantization seed 0); "
        f"{history.steps} steps, {history.wall_time_s:.0f} s training; "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )


def _cli_sample(args: argparse.Namespace) -> None:
    import matplotlib.pyplot as plt

    from .display import show_grid

    model, _ = train_realnvp(args.profile, args.data, args.device)
    temps = args.temperatures
    fig, axes = plt.subplots(1, len(temps), figsize=(4 * len(temps), 4.4), squeeze=False)
    for ax, t in zip(axes[0], temps, strict=True):
        show_grid(model.sample(args.n, t, torch.Generator().manual_seed(args.seed)), f"T = {t}", nrow=8, ax=ax)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out}")


def run_main(args: argparse.Namespace) -> None:
    """Step of `python -m asgn2 run`: train (or load), test bits/dim, samples at three temperatures."""
    _cli_train(argparse.Namespace(**{**vars(args), "retrain": False}))
    options = {"n": 64, "temperatures": [1.0, 0.8, 0.6], "seed": 0, "out": "results/realnvp_samples.png"}
    _cli_sample(argparse.Namespace(**{**vars(args), **options}))


def add_commands(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train-realnvp", parents=[common], help="train (or load) Real NVP, print test bits/dim")
    p.add_argument("--retrain", action="store_true", help="ignore a cached checkpoint and train again")
    p.set_defaults(func=_cli_train)
    p = subparsers.add_parser("sample-realnvp", parents=[common], help="Real NVP samples at several temperatures (PNG)")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.8, 0.6])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/realnvp_samples.png")
    p.set_defaults(func=_cli_sample)
