"""Programming Q1: a masked-convolution PixelCNN for binarized MNIST, its sampling and raster-order inpainting.

The model factorises a binary image x in {0,1}^(H x W) in raster order,

    p(x) = prod_i p(x_i | x_<i),    p(x_i = 1 | x_<i) = sigmoid(logit_i(x_<i)),

where the masked convolutions make logit_i depend on the pixels above and to the left of i only (mask A excludes
the centre pixel in the first layer; mask B, in later layers, includes the centre of the previous *feature map*,
which itself never saw pixel i). Read top to bottom: the layer, the network, the loss and test NLL, sampling,
inpainting, training. What goes beyond the question builds on these classes in modules of its own
(`conditional`, `sampler`, `inpainting`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SHAPE, eval_binarization, fresh_binarization
from .randomness import seeded
from .runs import train_or_load
from .training import History, TrainConfig


class MaskedConv2d(nn.Conv2d):
    """A k x k convolution that sees only the pixels above and to the left of the output pixel (raster order).

    mask_type "A" also hides the centre pixel (first layer: logit_i must not see x_i); "B" shows it (later layers).
    Every kernel row below the centre is masked out, so those rows are not stored at all: the weight is
    (out, in, k//2 + 1, k) and the input is padded k//2 rows at the top only. This is the same function as a k x k
    kernel with the usual mask, with (k//2 + 1)/k of the multiplications.

    x: (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str) -> None:
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be an odd positive int (the output pixel is the centre), got {kernel_size}"
            )
        centre = kernel_size // 2
        super().__init__(in_channels, out_channels, (centre + 1, kernel_size), padding=(0, centre))
        self.mask_type = mask_type
        mask = torch.ones_like(self.weight)
        mask[:, :, centre, centre + (mask_type == "B") :] = 0  # the centre row: pixels right of centre (and it, for A)
        self.register_buffer("mask", mask)

    @property
    def rows_above(self) -> int:
        return self.kernel_size[0] - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same height as the input: zero padding above, as at the top edge of the image."""
        return self._conv_forward(F.pad(x, (0, 0, self.rows_above, 0)), self.weight * self.mask, self.bias)

    def full_mask(self) -> torch.Tensor:
        """The equivalent k x k mask (kernel rows below the centre all zero), for pictures: (k, k)."""
        k = self.kernel_size[1]
        full = torch.zeros(k, k)
        full[: k // 2 + 1] = self.mask[0, 0]
        return full


class ResidualBlock(nn.Module):
    """h + 1x1(ReLU(MaskedConv_B k x k(ReLU(h)))): (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel_size, "B")
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix(F.relu(self.conv(F.relu(h))))


@dataclass(frozen=True)
class PixelCNNConfig:
    """The network's sizes; the defaults are the default profile's."""

    channels: int = 32
    n_blocks: int = 5
    kernel_size: int = 5  # of the mask-B layers; the input layer is 7 x 7 mask A
    head_channels: int = 64


class PixelCNN(nn.Module):
    """7 x 7 mask-A convolution, residual mask-B blocks, two 1 x 1 layers: one Bernoulli logit per pixel.

    forward(x): binary images x (N, 1, H, W) -> logits (N, 1, H, W), logit_i a function of x_<i only.
    """

    def __init__(self, config: PixelCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or PixelCNNConfig()
        self.input = MaskedConv2d(1, config.channels, 7, "A")
        self.blocks = nn.ModuleList(ResidualBlock(config.channels, config.kernel_size) for _ in range(config.n_blocks))
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(config.channels, config.head_channels, 1),
            nn.ReLU(),
            nn.Conv2d(config.head_channels, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_binary_images(x)
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` without the input check: also defined for real-valued x (gradients, `receptive_field`)."""
        h = self.input(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, (N,): the sum over pixels of the Bernoulli log-likelihoods log p(x_i | x_<i)."""
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").flatten(1).sum(1)

    @property
    def rows_above(self) -> int:
        """How many rows above pixel i its logit can see, the vertical receptive field - 1."""
        return self.input.rows_above + sum(block.conv.rows_above for block in self.blocks)


def check_binary_images(x: torch.Tensor) -> None:
    """Raise ValueError unless x is a float tensor (N, 1, H, W) with values in {0, 1}."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4 or x.shape[1] != 1:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected binary float images of shape (N, 1, H, W), got {got} (use asgn2.data.binarize)")
    if not ((x == 0) | (x == 1)).all():
        raise ValueError("expected binary images with values in {0, 1} (use asgn2.data.binarize)")


def receptive_field(
    model: nn.Module, row: int, col: int, image_shape: tuple[int, int, int] = IMAGE_SHAPE, trials: int = 3
) -> torch.Tensor:
    """Bool (H, W): the input pixels that the logit of pixel (row, col) depends on, from the gradient
    d logit / d x at `trials` random real-valued inputs (a ReLU can hide a dependence at one input).
    For a causal model it lies above, or left of (row, col) in its row."""
    grad = torch.zeros(image_shape[1:])
    for _ in range(trials):
        x = torch.rand(1, *image_shape).requires_grad_(True)
        model.logits(x)[0, 0, row, col].backward()
        grad += x.grad[0, 0].abs()
    return grad > 0


# ------------------------------------------------------------------------------------------------- loss and NLL


def pixel_log_probs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """log p(x_i | x_<i) of every pixel of binary images x, (N, 1, H, W): the Bernoulli log-likelihood of x_i under
    sigmoid(logit_i)."""
    return -F.binary_cross_entropy_with_logits(model(x), x, reduction="none")


def pixelcnn_loss(model: PixelCNN, images: torch.Tensor) -> torch.Tensor:
    """-log p(x) of a fresh stochastic binarization of uint8 images (N, 1, 28, 28), in nats per pixel (the mean over
    pixels and images; times 784 it is nats per image). Each digit is binarized anew every time it is seen."""
    x = fresh_binarization(images)
    return F.binary_cross_entropy_with_logits(model(x).float(), x)


@torch.no_grad()
def nll_per_image(model: nn.Module, binary_images: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """-log p(x) in nats, (N,), of binary images (N, 1, 28, 28), returned on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([-model.log_prob(chunk.to(device)).cpu() for chunk in binary_images.split(batch_size)])


def test_nll(model: nn.Module, binary_images: torch.Tensor, batch_size: int = 100) -> float:
    """Mean -log p(x) in nats per image over binary images (N, 1, 28, 28)."""
    return nll_per_image(model, binary_images, batch_size).double().mean().item()


# --------------------------------------------------------------------------------------- sampling and inpainting


@torch.no_grad()
def inpaint(
    model: nn.Module, x: torch.Tensor, known: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Raster-order inpainting: fill the hole pixels (known = False) of binary images x (N, 1, H, W), keep the
    observed ones exactly. For each hole pixel i in raster order, the whole network on the whole image, then
    x_i ~ Bernoulli(sigmoid(logit_i)): a draw from p(x_i | x_<i), which sees the observed pixels before i only.

    One uniform per pixel is drawn up front and pixel i is set to 1 iff u_i < p_i: the samples are then a function of
    (model, x, known, generator) alone, so a faster sampler (`sampler.sample_holes`) is tested to give exactly these.
    """
    check_binary_images(x)
    check_known_mask(x, known)
    model.eval()
    x, hole = x.clone(), ~known
    u = torch.rand(x.shape, generator=generator).to(x.device)
    for index in hole[:, 0].any(0).flatten().nonzero().flatten().tolist():
        r, c = divmod(index, x.shape[3])
        p = torch.sigmoid(model(x)[:, 0, r, c])
        draw = (u[:, 0, r, c] < p).to(x.dtype)
        x[:, 0, r, c] = torch.where(hole[:, 0, r, c], draw, x[:, 0, r, c])
    return x


def sample(model: nn.Module, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """n samples x ~ p(x), float {0, 1} (n, 1, 28, 28): inpainting with every pixel a hole."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    x = torch.zeros(n, *IMAGE_SHAPE, device=next(model.parameters()).device)
    return inpaint(model, x, torch.zeros_like(x, dtype=torch.bool), generator=generator)


def check_known_mask(x: torch.Tensor, known: torch.Tensor) -> None:
    """Raise ValueError unless known is a bool mask of x's shape (True = observed)."""
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool or known.shape != x.shape:
        got = f"{known.dtype} {tuple(known.shape)}" if isinstance(known, torch.Tensor) else type(known).__name__
        raise ValueError(
            f"known must be a bool tensor of the images' shape {tuple(x.shape)} (True = observed), got {got}"
        )


# ------------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class PixelCNNSpec:
    """Everything that makes a trained PixelCNN: the network and the training run. The defaults are the default
    profile's."""

    name: str  # names the checkpoint file: pixelcnn-<name>.pt
    model: PixelCNNConfig = field(default_factory=PixelCNNConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval_images: int = 2000  # test images for the evaluations during training (the reported NLL uses all 10000)


def train_pixelcnn(
    spec: PixelCNNSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[PixelCNN, History]:
    """Train (or load the finished run saved for this spec) a PixelCNN on uint8 training digits (N, 1, 28, 28) with
    `pixelcnn_loss` and `training.train`. Evaluations during training: the NLL of the first `spec.eval_images` test
    digits and of as many training digits, both binarized with evaluation seed 0 (the same quantity for both)."""
    eval_test = eval_binarization(test_images[: spec.eval_images])
    eval_train = eval_binarization(train_images[: spec.eval_images])
    eval_fn = lambda m: {"train_nll": test_nll(m, eval_train), "test_nll": test_nll(m, eval_test)}  # noqa: E731
    with seeded("init", spec.train.seed):
        model = PixelCNN(spec.model)
    return train_or_load(model, "pixelcnn", spec, pixelcnn_loss, train_images, eval_fn, device, retrain)
