"""Programming Q1: a masked-convolution PixelCNN for binarized MNIST.

The model factorises an image x in {0,1}^(H x W) in raster order,

    p(x) = prod_i p(x_i | x_<i),    p(x_i = 1 | x_<i) = sigmoid(logit_i(x_<i)),

where the masked convolutions make logit_i depend on the pixels above and to the left of i only (mask A excludes
the centre pixel in the first layer; mask B, in later layers, includes the centre of the previous *feature map*,
which itself never saw pixel i).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cache import fit_or_load
from .checkpoints import Checkpoint, checkpoint_dir
from .data import IMAGE_SHAPE, binarize
from .randomness import generator
from .training import History, TrainConfig, train


class MaskedConv2d(nn.Conv2d):
    """A k x k convolution that sees only the pixels above and to the left of the output pixel (raster order).

    mask_type "A" also hides the centre pixel (first layer: logit_i must not see x_i); "B" shows it (later layers).
    Every kernel row below the centre is masked out, so those rows are not stored at all: the weight is
    (out, in, k//2 + 1, k) and the input is padded k//2 rows at the top only. This is the same function as a k x k
    kernel with the usual mask, with (k//2 + 1)/k of the multiplications, and it lets `valid_rows` compute a few
    rows exactly from a crop of the image (what the fast inpainting sampler uses).

    x: (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str, **conv_kwargs) -> None:
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be an odd positive int (the output pixel is the centre), got {kernel_size}"
            )
        centre = kernel_size // 2
        super().__init__(in_channels, out_channels, (centre + 1, kernel_size), padding=(0, centre), **conv_kwargs)
        self.mask_type = mask_type
        mask = torch.ones_like(self.weight)
        mask[:, :, centre, centre + (mask_type == "B") :] = 0  # the centre row: pixels right of centre (and it, for A)
        self.register_buffer("mask", mask)

    @property
    def rows_above(self) -> int:
        return self.kernel_size[0] - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same height as the input: zero padding above, as at the top edge of the image."""
        return self.valid_rows(F.pad(x, (0, 0, self.rows_above, 0)))

    def valid_rows(self, x: torch.Tensor) -> torch.Tensor:
        """No vertical padding: an input crop of h rows gives the h - rows_above rows that it fully determines."""
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def full_mask(self) -> torch.Tensor:
        """The equivalent k x k mask (kernel rows below the centre all zero), for pictures: (k, k)."""
        k = self.kernel_size[1]
        full = torch.zeros(k, k)
        full[: k // 2 + 1] = self.mask[0, 0]
        return full


class ResidualBlock(nn.Module):
    """h + 1x1(ReLU(MaskedConv_B k x k(ReLU(h)))): (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel_size, "B")
        self.mix = nn.Conv2d(channels, channels, 1)

    @property
    def rows_above(self) -> int:
        return self.conv.rows_above

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix(F.relu(self.conv(F.relu(h))))

    def valid_rows(self, h: torch.Tensor) -> torch.Tensor:
        out = self.mix(F.relu(self.conv.valid_rows(F.relu(h))))
        return h[:, :, h.shape[2] - out.shape[2] :] + out  # the skip connection keeps the rows that survive


@dataclass
class PixelCNNConfig:
    channels: int = 64
    n_blocks: int = 6
    kernel_size: int = 3  # of the mask-B layers; the input layer is 7 x 7 mask A
    head_channels: int = 64


class PixelCNN(nn.Module):
    """7x7 mask-A convolution, residual mask-B blocks, two 1x1 layers: one Bernoulli logit per pixel.

    forward: x (N, 1, H, W) in {0, 1} -> logits (N, 1, H, W), logit_i a function of x_<i only.
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

    @property
    def rows_above(self) -> int:
        """How many rows above pixel i its logit can see: the vertical receptive field, minus one."""
        return self.input.rows_above + sum(block.rows_above for block in self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_binary_images(x)
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` without the input check: also defined for real-valued x (gradients, `receptive_field`)."""
        h = self.input(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def row_logits(self, x: torch.Tensor, row: int) -> torch.Tensor:
        """Logits of one image row, (N, 1, 1, W), computed from rows row - rows_above .. row only.

        Equal to `forward(x)[:, :, row:row + 1]`: near the top the crop starts at the image edge and is padded as in
        `forward`; further down, each layer drops the rows it cannot determine and exactly one row is left.
        """
        if row < self.rows_above:
            return self.forward(x[:, :, : row + 1])[:, :, row : row + 1]
        h = self.input.valid_rows(x[:, :, row - self.rows_above : row + 1])
        for block in self.blocks:
            h = block.valid_rows(h)
        return self.head(h)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, (N,): the sum over pixels of the Bernoulli log-likelihoods."""
        logits = self.forward(x)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def receptive_field(
    model: PixelCNN, row: int, col: int, image_shape: tuple[int, int, int] = IMAGE_SHAPE, trials: int = 3
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


def check_binary_images(x: torch.Tensor) -> None:
    """Raise ValueError unless x is a float tensor (N, 1, H, W) with values in {0, 1}."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4 or x.shape[1] != 1:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected binary float images of shape (N, 1, H, W), got {got} (use asgn2.data.binarize)")
    if not ((x == 0) | (x == 1)).all():
        raise ValueError("expected binary images with values in {0, 1} (use asgn2.data.binarize)")


# ------------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class PixelCNNSpec:
    """Everything that makes a trained PixelCNN: the network, the training run and the data choices."""

    name: str  # names the checkpoint file: pixelcnn-<name>.pt
    model: PixelCNNConfig
    train: TrainConfig
    binarization: str = "stochastic"  # of the training digits: a fresh Bernoulli draw per pixel every time one is seen
    eval_images: int = 2000  # test images for the evaluations during training (the reported NLL uses all 10000)


def pixelcnn_loss(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per pixel (nats) of a fresh stochastic binarization of uint8 images.

    Drawing a new binarization every time a digit is seen (training stream, saved in checkpoints) acts as data
    augmentation; the test set is binarized once per evaluation seed, from its own stream (`test_binarization`).
    """
    x = (torch.rand(images.shape, device=images.device) < images.float() / 255.0).float()
    return F.binary_cross_entropy_with_logits(model(x), x)


def test_binarization(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Stochastically binarized test digits (N, 1, 28, 28) from the "test-binarization" stream: disjoint from the
    binarizations that training draws."""
    return binarize(images, "stochastic", generator("test-binarization", seed))


@torch.no_grad()
def test_nll(model: PixelCNN, binary_images: torch.Tensor, batch_size: int = 100) -> float:
    """Mean -log p(x) in nats per image over binary images (N, 1, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    total = sum(-model.log_prob(chunk.to(device)).sum().item() for chunk in binary_images.split(batch_size))
    return total / binary_images.shape[0]


def train_pixelcnn(
    spec: PixelCNNSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    device: torch.device | str = "cpu",
    retrain: bool = False,
) -> tuple[PixelCNN, History]:
    """Train (or load the finished run cached for this spec) a PixelCNN on uint8 training digits (N, 1, 28, 28);
    evaluations during training use the first `spec.eval_images` test digits, binarized with evaluation seed 0."""
    if spec.binarization != "stochastic":
        raise ValueError(f"only stochastic training binarization is implemented, got {spec.binarization!r}")
    model = PixelCNN(spec.model)
    checkpoint = Checkpoint(checkpoint_dir() / f"pixelcnn-{spec.name}.pt", spec)
    eval_x = test_binarization(test_images[: spec.eval_images])

    def fit() -> History:
        eval_fn = lambda m: {"test_nll": test_nll(m, eval_x)}  # noqa: E731
        return train(
            model,
            pixelcnn_loss,
            train_images,
            spec.train,
            eval_fn=eval_fn,
            checkpoint=checkpoint,
            device=device,
            desc="pixelcnn",
        )

    return fit_or_load(model, checkpoint, fit, retrain, device)
