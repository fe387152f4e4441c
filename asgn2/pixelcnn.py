"""Programming Q1: a masked-convolution PixelCNN for binarized MNIST.

The model factorises an image x in {0,1}^(H x W) in raster order,

    p(x) = prod_i p(x_i | x_<i),    p(x_i = 1 | x_<i) = sigmoid(logit_i(x_<i)),

where the masked convolutions make logit_i depend on the pixels above and to the left of i only (mask A excludes
the centre pixel in the first layer; mask B, in later layers, includes the centre of the previous *feature map*,
which itself never saw pixel i).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cache import train_or_load
from .data import IMAGE_SHAPE, eval_binarization, fresh_binarization
from .holes import training_holes
from .recogniser import Recogniser, RecogniserSpec, train_recogniser
from .runtime import fast_bf16
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

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel_size, "B")
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix(F.relu(self.conv(F.relu(h))))


class ConditionNet(nn.Module):
    """What is observed, seen without a mask: (x * known, known) (N, 2, H, W) -> features (N, C, H, W) and class
    logits (N, 10); optionally also told which digit to draw (`labels`).

    A full-resolution 3 x 3 layer for local detail, plus a path that halves the resolution twice (to 7 x 7 for
    MNIST), mixes there with two 3 x 3 layers and a summary of the whole grid (its mean, through a linear layer),
    and comes back up: every output position depends on every observed pixel. Beside it, the recogniser
    (`recogniser.Recogniser`, pretrained and frozen when the spec names one) names the digit that the observed
    pixels suggest; its class probabilities, embedded, join the summary. Hole pixels enter as 0 with known = 0, so
    nothing here depends on a hole pixel's value. About 10% of the masked network's multiply-adds.

    `labels` (N,) int: where labels[n] >= 0, that digit is embedded as a certainty (one-hot) in place of the
    recogniser's probabilities; -1 keeps them. Trained on true labels (`PixelCNNSpec.p_label_fed`), the network
    learns to draw the digit it is told, which the label mixture of `inpainting.conditional` relies on.
    """

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__()
        self.local = nn.Conv2d(2, channels, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(channels, channels, 3, stride=2, padding=1) for _ in range(2))
        self.coarse = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))
        self.summary = nn.Linear(channels, channels)
        self.recognise = Recogniser(width)  # which digit the observed pixels suggest: r(y | x_obs)
        self.embed = nn.Linear(10, channels)

    def forward(
        self, x: torch.Tensor, known: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """features (N, C, H, W) and class logits (N, 10) of the observed pixels."""
        seen = torch.cat([x * known, known.to(x.dtype)], dim=1)
        local = F.relu(self.local(seen))
        h = local
        for conv in self.down:
            h = F.relu(conv(h))
        for conv in self.coarse:
            h = h + F.relu(conv(h))
        class_logits = self.recognise(x, known)
        summary = F.relu(self.summary(h.mean(dim=(2, 3)))) + self.embed(label_probabilities(class_logits, labels))
        h = h + summary[:, :, None, None]  # the whole image and its likely class, at every cell
        return local + F.interpolate(h, size=local.shape[2:], mode="nearest"), class_logits


def label_probabilities(class_logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """(N, 10): the recogniser's probabilities softmax(class_logits), replaced by one-hot(labels[n]) wherever
    labels[n] >= 0."""
    probs = class_logits.softmax(1)
    if labels is None:
        return probs
    told = F.one_hot(labels.clamp_min(0), 10).to(probs)
    return torch.where((labels >= 0)[:, None], told, probs)


class UNetConditionNet(nn.Module):
    """Like `ConditionNet`, with skip connections: down to 14 x 14 (2C channels) and 7 x 7, a summary of the whole
    grid there, and back up through 3 x 3 layers that add the features of the same resolution on the way down."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.e1 = nn.Conv2d(2, c, 3, padding=1)
        self.e2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.e3 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.coarse = nn.ModuleList(nn.Conv2d(2 * c, 2 * c, 3, padding=1) for _ in range(2))
        self.summary = nn.Linear(2 * c, 2 * c)
        self.d2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.d1 = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(
        self, x: torch.Tensor, known: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, None]:
        if labels is not None:
            raise ValueError("UNetConditionNet has no recogniser: it cannot be told a label")
        e1 = F.relu(self.e1(torch.cat([x * known, known.to(x.dtype)], dim=1)))
        e2 = F.relu(self.e2(e1))
        h = F.relu(self.e3(e2))
        for conv in self.coarse:
            h = h + F.relu(conv(h))
        h = h + F.relu(self.summary(h.mean(dim=(2, 3))))[:, :, None, None]
        h = F.relu(self.d2(F.interpolate(h, size=e2.shape[2:], mode="nearest")) + e2)
        return F.relu(self.d1(F.interpolate(h, size=e1.shape[2:], mode="nearest")) + e1), None


@dataclass(frozen=True)
class PixelCNNConfig:
    channels: int = 64
    n_blocks: int = 6
    kernel_size: int = 3  # of the mask-B layers; the input layer is 7 x 7 mask A
    head_channels: int = 64
    condition_channels: int = 0  # 0: a plain PixelCNN; > 0: also a model of p(x_hole | x_observed), this wide
    condition_net: str = "coarse"  # "coarse" (ConditionNet) or "unet" (UNetConditionNet)
    condition_stages: str = "ends"  # where the conditioning bias is added: "ends" (after input and last block), "all"
    recogniser_width: int = 16  # of ConditionNet's digit recogniser (`recogniser.Recogniser`)


class PixelCNN(nn.Module):
    """7x7 mask-A convolution, residual mask-B blocks, two 1x1 layers: one Bernoulli logit per pixel.

    forward(x) : x (N, 1, H, W) in {0, 1} -> logits (N, 1, H, W), logit_i a function of x_<i only: p(x) factorised
    in raster order.
    forward(x, known, labels) (a conditional model, `condition_channels` > 0): logit_i a function of x_<i and of
    every observed pixel (known = True), wherever it is, and of the digit each image is told (`labels`, -1: the
    recogniser's probabilities instead): p(x_hole | x_observed, y) factorised in raster order over the hole. The
    conditional model of inpainting is the label mixture over y (`mixture_hole_log_prob`). The observed image and the
    mask enter through `ConditionNet` (no mask: it sees below and right of i too) as a bias added after the input
    layer and after the last block. With no pixel observed and nothing told the bias depends on the position only
    and the model is an ordinary PixelCNN of p(x), with a learned position-dependent bias: `forward(x)` is
    `forward(x, known=all False)`.
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
        if config.condition_channels:
            self.condition = (
                ConditionNet(config.condition_channels, config.recogniser_width)
                if config.condition_net == "coarse"
                else UNetConditionNet(config.condition_channels)
            )
            n = config.n_blocks + 1
            self.conditioned_stages = [0, n - 1] if config.condition_stages == "ends" else list(range(n))
            # the biases of all conditioned stages from one 1 x 1 convolution
            width = len(self.conditioned_stages) * config.channels
            self.condition_bias = nn.Conv2d(config.condition_channels, width, 1)

    @property
    def conditional(self) -> bool:
        return self.config.condition_channels > 0

    @property
    def rows_above(self) -> int:
        """How many rows above pixel i its logit can see through the masked path, the vertical receptive field - 1."""
        return self.input.rows_above + sum(block.conv.rows_above for block in self.blocks)

    def forward(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_binary_images(x)
        if known is not None:
            check_known_mask(x, known)
        return self.logits(x, known, labels)

    def _conditioning(
        self, x: torch.Tensor, known: torch.Tensor | None, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """`ConditionNet` features (N, condition_channels, H, W) and class logits (N, 10) of the observed pixels
        (no pixel observed when `known` is None), told `labels` if given; (None, None) for a plain PixelCNN, which
        refuses observed pixels and labels."""
        if not self.conditional:
            if (known is not None and bool(known.any())) or labels is not None:
                raise ValueError(
                    "this PixelCNN is not conditional (condition_channels = 0): it cannot take `known` or `labels`"
                )
            return None, None
        if labels is not None:
            check_labels(labels, x.shape[0])
        return self.condition(x, torch.zeros_like(x, dtype=torch.bool) if known is None else known, labels)

    def condition_features(
        self, x: torch.Tensor, known: torch.Tensor | None, labels: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """`ConditionNet` features (N, condition_channels, H, W) of the observed pixels, told `labels` if given;
        None for a plain PixelCNN."""
        return self._conditioning(x, known, labels)[0]

    def stage_biases(self, features: torch.Tensor | None) -> list[torch.Tensor | None]:
        """The conditioning bias (N, channels, H, W) added after the input layer (stage 0) and after each block
        (stage k): n_blocks + 1 entries, None where nothing is added (every stage of a plain PixelCNN; the stages
        between the first and the last of a conditional one)."""
        stages: list[torch.Tensor | None] = [None] * (len(self.blocks) + 1)
        if features is not None:
            biases = self.condition_bias(features).chunk(len(self.conditioned_stages), dim=1)
            for stage, bias in zip(self.conditioned_stages, biases, strict=True):
                stages[stage] = bias
        return stages

    def stage_outputs(self, x: torch.Tensor, features: torch.Tensor | None) -> list[torch.Tensor]:
        """The hidden state (N, channels, H, W) after the input layer and after each block, conditioning biases
        included: n_blocks + 1 tensors; the head turns the last into logits."""
        biases = self.stage_biases(features)
        h = self.input(x)
        outputs = [h if biases[0] is None else h + biases[0]]
        for block, bias in zip(self.blocks, biases[1:], strict=True):
            h = block(outputs[-1])
            outputs.append(h if bias is None else h + bias)
        return outputs

    def logits(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`forward` without the input checks: also defined for real-valued x (gradients, `receptive_field`)."""
        return self.logits_and_class(x, known, labels)[0]

    def logits_and_class(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The pixel logits (N, 1, H, W) and the class logits (N, 10) that `ConditionNet`'s recogniser reads from
        the observed pixels (None for a plain PixelCNN and for the U-Net conditioning path, which names no digit).
        `labels` (N,): the digit each image is told to be (-1: the recogniser's probabilities), see `ConditionNet`."""
        features, class_logits = self._conditioning(x, known, labels)
        return self.head(self.stage_outputs(x, features)[-1]), class_logits

    def class_log_posterior(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """log r(y | x_observed), (N, 10): the recogniser's log-probabilities of the ten digits, a function of the
        observed pixels only (the label mixture of `mixture_hole_log_prob` draws its label from it). The recogniser
        alone: the rest of `ConditionNet` is not needed for it."""
        if not self.conditional or not isinstance(self.condition, ConditionNet):
            raise ValueError(
                "the label mixture needs a conditional PixelCNN with a recogniser (condition_net 'coarse')"
            )
        return self.condition.recognise(x, known).log_softmax(1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, (N,): the sum over pixels of the Bernoulli log-likelihoods."""
        return hole_log_prob(self, x, torch.zeros_like(x, dtype=torch.bool))


def pixel_log_probs(
    model: PixelCNN, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x_i | x_<i) of every pixel, (N, 1, H, W); given the observed pixels `known` (and told `labels`) too,
    for a conditional model."""
    return -F.binary_cross_entropy_with_logits(model(x, known, labels), x, reduction="none")


def hole_log_prob(
    model: PixelCNN,
    x: torch.Tensor,
    known: torch.Tensor,
    conditional: bool = True,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """log p(x_hole | x_observed) in nats, (N,): the sum over hole pixels of log p(x_i | x_<i, x_observed).

    Exact for a conditional model (`conditional`: it is given the observed pixels; with `labels`, it is
    log p(x_hole | x_observed, y)); for a plain PixelCNN, or with `conditional=False`, it is the raster-order
    likelihood of the hole given the pixels before each hole pixel only.
    """
    log_p = pixel_log_probs(model, x, known if conditional and model.conditional else None, labels)
    return (log_p * ~known).flatten(1).sum(1)


def mixture_hole_log_prob(model: PixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_observed) of the label mixture, in nats, (N,), exact (ten passes):

        p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y),

    r the recogniser (`PixelCNN.class_log_posterior`), p(. | x_obs, y) the network told digit y. Both factors see the
    observed pixels only, so the mixture is a proper distribution over the hole."""
    check_known_mask(x, known)
    log_r = model.class_log_posterior(x, known)
    per_label = [
        hole_log_prob(model, x, known, labels=torch.full((x.shape[0],), y, device=x.device)) for y in range(10)
    ]
    return torch.logsumexp(log_r + torch.stack(per_label, 1), dim=1)


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


def check_known_mask(x: torch.Tensor, known: torch.Tensor) -> None:
    """Raise ValueError unless known is a bool mask of x's shape (True = observed)."""
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool or known.shape != x.shape:
        got = f"{known.dtype} {tuple(known.shape)}" if isinstance(known, torch.Tensor) else type(known).__name__
        raise ValueError(
            f"known must be a bool tensor of the images' shape {tuple(x.shape)} (True = observed), got {got}"
        )


def check_labels(labels: torch.Tensor, n: int) -> None:
    """Raise ValueError unless labels is an int tensor (n,) with values in -1..9 (-1: no label told)."""
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long or labels.shape != (n,):
        got = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a long tensor ({n},) of digits 0-9, or -1 for none; got {got}")
    if bool(((labels < -1) | (labels > 9)).any()):
        raise ValueError("labels must be digits 0-9, or -1 for none")


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
    # a conditional model: the fraction of training digits with every pixel a hole (plain PixelCNN training); the
    # others get a hole from `holes.training_holes`
    p_all_holes: float = 1.0
    hole_loss: str = "pixels"  # "pixels": summed over hole pixels / all pixels; "holes": the mean per hole pixel
    label_weight: float = 0.0  # of the auxiliary loss: ConditionNet names the digit from the observed pixels
    # a recogniser trained first, on its own, then frozen in ConditionNet (None: it learns with `label_weight`)
    recogniser: RecogniserSpec | None = None
    # the fraction of training digits told their true label (one-hot, in place of the recogniser's probabilities):
    # the network learns p(x_hole | x_obs, y), the label mixture's component. Digits with every pixel a hole are
    # told too (there the label is all the network has to go on, which teaches it to follow the label best)
    p_label_fed: float = 0.0
    # training's forward passes under bfloat16 autocast where `runtime.fast_bf16` says the device computes it fast
    # (weights, the loss, evaluations and sampling stay float32)
    bf16: bool = False
    eval_images: int = 2000  # test images for the evaluations during training (the reported NLL uses all 10000)

    def __post_init__(self) -> None:
        if self.binarization != "stochastic":  # the likelihood benchmarks' convention; see `pixelcnn_loss`
            raise ValueError(f"training binarization must be 'stochastic', got {self.binarization!r}")
        if not 0 <= self.p_all_holes <= 1 or (self.p_all_holes < 1 and not self.model.condition_channels):
            raise ValueError(
                f"p_all_holes must be in [0, 1], and below 1 only for a conditional model, got {self.p_all_holes}"
            )
        if self.recogniser is not None:
            if not self.model.condition_channels or self.model.condition_net != "coarse":
                raise ValueError("a pretrained recogniser needs a conditional model with condition_net 'coarse'")
            if self.recogniser.width != self.model.recogniser_width:
                raise ValueError(
                    f"the pretrained recogniser's width ({self.recogniser.width}) must be the model's "
                    f"recogniser_width ({self.model.recogniser_width})"
                )
            if self.label_weight:
                raise ValueError("a pretrained recogniser is frozen: label_weight must be 0")
        if not 0 <= self.p_label_fed <= 1 or (self.p_label_fed > 0 and self.model.condition_net != "coarse"):
            raise ValueError(
                f"p_label_fed must be in [0, 1], and above 0 only for a conditional model with a recogniser "
                f"(condition_net 'coarse'), got {self.p_label_fed}"
            )


def pixelcnn_loss(
    model: PixelCNN,
    batch: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    p_all_holes: float = 1.0,
    hole_loss: str = "pixels",
    label_weight: float = 0.0,
    p_label_fed: float = 0.0,
    bf16: bool = False,
) -> torch.Tensor:
    """Negative log-likelihood of the hole pixels of a fresh stochastic binarization of uint8 images, in nats per
    pixel (summed over hole pixels, divided by all pixels: with every pixel a hole, the mean NLL per pixel).

    batch: uint8 images (N, 1, 28, 28), or (images, labels (N,)): the true labels, told to a fraction
    `p_label_fed` of the digits (and, with `label_weight` > 0, the targets of the label loss of a spec without a
    pretrained recogniser, kept for the benchmarks of earlier designs).
    Drawing a new binarization every time a digit is seen (training stream, saved in checkpoints) acts as data
    augmentation; the test set is binarized once per evaluation seed, from its own stream (`eval_binarization`).
    A conditional model is trained on holes from `holes.training_holes` (a fraction `p_all_holes` of them every
    pixel), drawn from the training stream too, and a fraction `p_label_fed` of the digits (drawn from the training
    stream) is told its true label: the network learns p(x_hole | x_obs, y), the label mixture's component. With
    `label_weight` > 0 its `ConditionNet` also learns to name the digit (cross-entropy in nats, times `label_weight`,
    on digits with something observed). `bf16`: the network's forward pass under bfloat16 autocast, the loss in
    float32.
    """
    images, labels = (batch, None) if isinstance(batch, torch.Tensor) else batch
    x = fresh_binarization(images)
    autocast = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16)
    if not model.conditional or p_all_holes >= 1:
        with autocast:
            logits = model(x)
        return F.binary_cross_entropy_with_logits(logits.float(), x)
    known = training_holes(x.shape[0], p_all=p_all_holes).to(x.device)
    told = None
    if p_label_fed > 0 and labels is not None:
        fed = torch.rand(x.shape[0], device=x.device) < p_label_fed
        told = torch.where(fed, labels, torch.full_like(labels, -1))
    with autocast:
        logits, class_logits = model.logits_and_class(x, known, told)
    logits, class_logits = logits.float(), None if class_logits is None else class_logits.float()
    nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    if hole_loss == "holes":  # every digit's hole weighs the same, whatever its size
        hole = (~known).flatten(1)
        loss = ((nll.flatten(1) * hole).sum(1) / hole.sum(1).clamp_min(1)).mean()
    else:
        loss = (nll * ~known).sum() / x.numel()
    if label_weight > 0 and labels is not None and class_logits is not None:
        seen = known.flatten(1).any(1).float()
        ce = F.cross_entropy(class_logits, labels, reduction="none")
        loss = loss + label_weight * (ce * seen).sum() / x.numel()
    return loss


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
    train_labels: torch.Tensor | None = None,
    test_labels: torch.Tensor | None = None,
) -> tuple[PixelCNN, History]:
    """Train (or load the finished run cached for this spec) a PixelCNN on uint8 training digits (N, 1, 28, 28);
    a spec with a recogniser trains (or loads) that first, and needs the test labels for its evaluations. A
    finished PixelCNN checkpoint holds its frozen recogniser's weights, which are the ones used; `retrain` retrains
    the PixelCNN only.

    Evaluations during training: the NLL of the first `spec.eval_images` test digits and of as many training digits,
    both binarized with evaluation seed 0 (so train and test are the same quantity: -log p(x), every pixel a hole)."""
    if (spec.label_weight or spec.p_label_fed or spec.recogniser) and train_labels is None:
        raise ValueError(
            "this spec trains with the labels (a recogniser, label_weight or p_label_fed): pass train_labels"
        )
    if spec.recogniser is not None and test_labels is None:
        raise ValueError("this spec trains a recogniser first, evaluated on the test digits: pass test_labels")
    model = PixelCNN(spec.model)
    if spec.recogniser is not None:  # r(y | x_obs) first, then frozen: the PixelCNN learns p(x_hole | x_obs, y)
        train_data, test_data = (train_images, train_labels), (test_images, test_labels)
        recogniser, _ = train_recogniser(spec.recogniser, train_data, test_data, device)
        model.condition.recognise.load_state_dict(recogniser.state_dict())
        model.condition.recognise.requires_grad_(False)
    eval_x = eval_binarization(test_images[: spec.eval_images])
    eval_train = eval_binarization(train_images[: spec.eval_images])
    eval_fn = lambda m: {"train_nll": test_nll(m, eval_train), "test_nll": test_nll(m, eval_x)}  # noqa: E731
    bf16 = spec.bf16 and fast_bf16(device)
    if spec.bf16:
        print(f"PixelCNN training's forward passes: {'bfloat16 autocast' if bf16 else 'float32 (no fast bf16 here)'}")
    loss = functools.partial(
        pixelcnn_loss,
        p_all_holes=spec.p_all_holes,
        hole_loss=spec.hole_loss,
        label_weight=spec.label_weight,
        p_label_fed=spec.p_label_fed,
        bf16=bf16,
    )
    data = train_images if train_labels is None else (train_images, train_labels)
    if bf16:  # oneDNN's bf16 convolutions are faster on channels-last weights (benchmarks/bench_pixelcnn.py)
        model = model.to(memory_format=torch.channels_last)
    model, history = train_or_load(model, "pixelcnn", spec, loss, data, eval_fn, device, retrain)
    return model.to(memory_format=torch.contiguous_format), history
