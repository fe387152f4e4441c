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
from .runtime import bf16_training
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
    """What is observed, seen without a mask: (x * known, known) (N, 2, 28, 28) -> features (N, C, 28, 28).

    A full-resolution 3 x 3 layer for local detail, plus a path that halves the resolution twice (to 7 x 7), mixes
    there with two 3 x 3 layers and a summary of the whole grid (its mean, through a linear layer), and comes back
    up: every output position depends on every observed pixel. Beside it, the recogniser (`recogniser.Recogniser`,
    pretrained and frozen) names the digit that the observed pixels suggest. The digit enters twice: as a learned
    7 x 7 map per digit (`digit_map`, where that digit's strokes lie), added before the 7 x 7 layers so that they mix
    it with what is observed, and embedded in the summary. The map is what lets a network told y with nothing
    observed draw a y from the first pixel on: a bias that is the same at every position cannot say where the ink
    goes. Hole pixels enter as 0 with known = 0, so nothing here depends on a hole pixel's value.

    `labels` (N,) int: where labels[n] >= 0, that digit is embedded as a certainty (one-hot) in place of the
    recogniser's probabilities; -1 keeps them. Trained told the true label (`PixelCNNSpec.p_label_fed`), the network
    learns to draw the digit it is told, which the label mixture of `inpainting.label_mixture` relies on.
    """

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__()
        self.local = nn.Conv2d(2, channels, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(channels, channels, 3, stride=2, padding=1) for _ in range(2))
        self.coarse = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))
        self.summary = nn.Linear(channels, channels)
        self.recognise = Recogniser(width)  # which digit the observed pixels suggest: r(y | x_obs)
        self.digit_map = nn.Parameter(torch.zeros(10, channels, 7, 7))  # per digit, a bias at each 7 x 7 cell
        self.embed = nn.Linear(10, channels)

    def forward(self, x: torch.Tensor, known: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Features (N, C, 28, 28) of the observed pixels of x (N, 1, 28, 28), told `labels` (N,) if given."""
        local = F.relu(self.local(torch.cat([x * known, known.to(x.dtype)], dim=1)))
        h = local
        for conv in self.down:
            h = F.relu(conv(h))
        digit = label_probabilities(self.recognise(x, known), labels)  # (N, 10)
        h = h + torch.einsum("nk,kchw->nchw", digit.to(h.dtype), self.digit_map.to(h.dtype))
        for conv in self.coarse:
            h = h + F.relu(conv(h))
        summary = F.relu(self.summary(h.mean(dim=(2, 3)))) + self.embed(digit)
        h = h + summary[:, :, None, None]  # the whole image and its likely digit, at every cell
        return local + F.interpolate(h, size=local.shape[2:], mode="nearest")


def label_probabilities(class_logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """(N, 10): the recogniser's probabilities softmax(class_logits), replaced by one-hot(labels[n]) wherever
    labels[n] >= 0."""
    probs = class_logits.softmax(1)
    if labels is None:
        return probs
    told = F.one_hot(labels.clamp_min(0), 10).to(probs)
    return torch.where((labels >= 0)[:, None], told, probs)


@dataclass(frozen=True)
class PixelCNNConfig:
    """The network; the defaults are the default profile's."""

    channels: int = 32
    n_blocks: int = 5
    kernel_size: int = 5  # of the mask-B layers; the input layer is 7 x 7 mask A
    head_channels: int = 64
    condition_channels: int = 16  # 0: a plain PixelCNN; > 0: also a model of p(x_hole | x_observed, y), this wide
    recogniser_width: int = 16  # of ConditionNet's digit recogniser (`recogniser.Recogniser`)


class PixelCNN(nn.Module):
    """7 x 7 mask-A convolution, residual mask-B blocks, two 1 x 1 layers: one Bernoulli logit per pixel.

    forward(x): x (N, 1, H, W) in {0, 1} -> logits (N, 1, H, W), logit_i a function of x_<i only: p(x) factorised
    in raster order.

    forward(x, known, labels), a conditional model (`condition_channels` > 0): logit_i a function of x_<i, of every
    observed pixel (known = True) wherever it is, and of the digit each image is told (`labels`, -1: the recogniser's
    probabilities instead): p(x_hole | x_observed, y) factorised in raster order over the hole. The observed pixels
    enter through `ConditionNet` (no mask: it sees below and right of i too) as a bias added after the input layer
    and after the last block. With no pixel observed and nothing told, that bias depends on the position only, and
    the model is an ordinary PixelCNN of p(x): `forward(x)` is `forward(x, known=all False)`.
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
            self.condition = ConditionNet(config.condition_channels, config.recogniser_width)
            # both conditioning biases (after the input layer, after the last block) from one 1 x 1 convolution
            self.condition_bias = nn.Conv2d(config.condition_channels, 2 * config.channels, 1)

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
        """Logits (N, 1, H, W) of binary images x (N, 1, H, W), given the observed pixels `known` (bool, x's shape;
        None: nothing observed) and told `labels` (N,) of a conditional model."""
        check_binary_images(x)
        if known is not None:
            check_known_mask(x, known)
        return self.logits(x, known, labels)

    def logits(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`forward` without the input checks: also defined for real-valued x (gradients, `receptive_field`)."""
        features = self.condition_features(x, known, labels)
        return self.head(self.stage_outputs(x, features)[-1])

    def condition_features(
        self, x: torch.Tensor, known: torch.Tensor | None, labels: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """`ConditionNet` features (N, condition_channels, H, W) of the observed pixels (none when `known` is None),
        told `labels` if given; None for a plain PixelCNN, which refuses observed pixels and labels."""
        if not self.conditional:
            if (known is not None and bool(known.any())) or labels is not None:
                raise ValueError(
                    "this PixelCNN is not conditional (condition_channels = 0): it cannot take `known` or `labels`"
                )
            return None
        if labels is not None:
            check_labels(labels, x.shape[0])
        return self.condition(x, torch.zeros_like(x, dtype=torch.bool) if known is None else known, labels)

    def stage_outputs(self, x: torch.Tensor, features: torch.Tensor | None) -> list[torch.Tensor]:
        """The hidden state (N, channels, H, W) after the input layer and after each block, the conditioning biases
        added after the first and the last: n_blocks + 1 tensors; the head turns the last into logits."""
        first, last = (None, None) if features is None else self.condition_bias(features).chunk(2, dim=1)
        h = self.input(x)
        outputs = [h if first is None else h + first]
        for block in self.blocks:
            outputs.append(block(outputs[-1]))
        if last is not None:
            outputs[-1] = outputs[-1] + last
        return outputs

    def class_log_posterior(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """log r(y | x_observed), (N, 10): the recogniser's log-probabilities of the ten digits, a function of the
        observed pixels only (the label mixture draws its label from it)."""
        if not self.conditional:
            raise ValueError("the label mixture needs a conditional PixelCNN (condition_channels > 0)")
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
    model: PixelCNN, x: torch.Tensor, known: torch.Tensor, *, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x_hole | x_observed) in nats, (N,): the sum over hole pixels of log p(x_i | x_<i, x_observed), told the
    digits `labels` (N,) if given. For a plain PixelCNN, the raster-order likelihood of the hole given the pixels
    before each hole pixel only."""
    log_p = pixel_log_probs(model, x, known if model.conditional else None, labels)
    return (log_p * ~known).flatten(1).sum(1)


def told_log_probs(model: PixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_observed, y) for each digit y, in nats, (N, 10): the network told y, ten passes."""
    check_known_mask(x, known)
    return torch.stack(
        [hole_log_prob(model, x, known, labels=torch.full((x.shape[0],), y, device=x.device)) for y in range(10)], 1
    )


def mixture_hole_log_prob(model: PixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_observed) of the label mixture, in nats, (N,), exact (ten passes):

        p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y),

    r the recogniser (`PixelCNN.class_log_posterior`), p(. | x_obs, y) the network told digit y. Both factors see the
    observed pixels only, so the mixture is a proper distribution over the hole."""
    return torch.logsumexp(model.class_log_posterior(x, known) + told_log_probs(model, x, known), dim=1)


def label_mixture_log_prob(model: PixelCNN, x: torch.Tensor, label_prior: torch.Tensor) -> torch.Tensor:
    """log p(x) of the label mixture, in nats, (N,), exact (ten passes), for binary images x (N, 1, 28, 28):

        p(x) = sum over y of pi(y) p(x | y),

    pi = `label_prior` (10,), the training digits' label frequencies (`data.label_frequencies`), and p(x | y) the
    conditional network told y with every pixel a hole: a class-conditional PixelCNN."""
    if label_prior.shape != (10,) or not torch.isclose(label_prior.sum(), torch.tensor(1.0, dtype=label_prior.dtype)):
        raise ValueError(f"label_prior must be 10 probabilities that sum to 1, got {tuple(label_prior.shape)}")
    nothing = torch.zeros_like(x, dtype=torch.bool)
    return torch.logsumexp(label_prior.log().to(x) + told_log_probs(model, x, nothing), dim=1)


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
    """Everything that makes a trained PixelCNN: the network, the training run and the data choices. The defaults
    are the default profile's."""

    name: str  # names the checkpoint file: pixelcnn-<name>.pt
    model: PixelCNNConfig
    train: TrainConfig
    # a conditional model's digit recogniser, trained first on its own, then frozen in ConditionNet
    recogniser: RecogniserSpec | None = None
    # a conditional model: the fraction of training digits with every pixel a hole (there it learns p(x), or p(x | y)
    # when told y); the others get a hole from `holes.training_holes`
    p_all_holes: float = 0.5
    # the fraction of training digits told their true label (one-hot, in place of the recogniser's probabilities):
    # the network learns p(x_hole | x_obs, y), the label mixture's component
    p_label_fed: float = 0.75
    bf16: bool = True  # training's forward passes in bfloat16 where `runtime.fast_bf16` says the CPU computes it fast
    eval_images: int = 2000  # test images for the evaluations during training (the reported NLL uses all 10000)

    def __post_init__(self) -> None:
        if not 0 <= self.p_all_holes <= 1 or not 0 <= self.p_label_fed <= 1:
            raise ValueError(
                f"p_all_holes and p_label_fed must be in [0, 1], got {self.p_all_holes}, {self.p_label_fed}"
            )
        conditional = self.model.condition_channels > 0
        if conditional != (self.recogniser is not None):
            raise ValueError("a conditional model (condition_channels > 0) needs a recogniser spec; a plain one none")
        if self.recogniser is not None and self.recogniser.width != self.model.recogniser_width:
            raise ValueError(
                f"the recogniser spec's width ({self.recogniser.width}) must be the model's recogniser_width "
                f"({self.model.recogniser_width})"
            )


def pixelcnn_loss(
    model: PixelCNN,
    batch: tuple[torch.Tensor, torch.Tensor],
    *,
    p_all_holes: float = 0.5,
    p_label_fed: float = 0.75,
) -> torch.Tensor:
    """Negative log-likelihood of the hole pixels of a fresh stochastic binarization of the images, in nats per
    pixel (summed over hole pixels, divided by all pixels).

    batch: uint8 images (N, 1, 28, 28) and their labels (N,). Every random draw comes from the training stream: a new
    binarization each time a digit is seen (data augmentation); for a conditional model a hole per digit
    (`holes.training_holes`, every pixel for a fraction `p_all_holes`), and for a fraction `p_label_fed` its true
    label, told. A plain PixelCNN: every pixel is a hole, the mean NLL per pixel.
    """
    images, labels = batch
    x = fresh_binarization(images)
    if not model.conditional:
        return F.binary_cross_entropy_with_logits(model(x).float(), x)
    known = training_holes(x.shape[0], p_all=p_all_holes).to(x.device)
    told = torch.rand(x.shape[0], device=x.device) < p_label_fed
    labels = torch.where(told, labels, torch.full_like(labels, -1))
    nll = F.binary_cross_entropy_with_logits(model(x, known, labels).float(), x, reduction="none")
    return (nll * ~known).sum() / x.numel()


@torch.no_grad()
def nll_per_image(
    model: PixelCNN, binary_images: torch.Tensor, batch_size: int = 100, *, label_prior: torch.Tensor | None = None
) -> torch.Tensor:
    """-log p(x) in nats, (N,), of binary images (N, 1, 28, 28), on the CPU: of the network untold, or, given
    `label_prior` (10,), of its label mixture (`label_mixture_log_prob`)."""
    model.eval()
    device = next(model.parameters()).device

    def log_p(x: torch.Tensor) -> torch.Tensor:
        return model.log_prob(x) if label_prior is None else label_mixture_log_prob(model, x, label_prior.to(device))

    return torch.cat([-log_p(chunk.to(device)).cpu() for chunk in binary_images.split(batch_size)])


def test_nll(
    model: PixelCNN, binary_images: torch.Tensor, batch_size: int = 100, *, label_prior: torch.Tensor | None = None
) -> float:
    """Mean -log p(x) in nats per image over binary images (N, 1, 28, 28) (`nll_per_image`)."""
    return nll_per_image(model, binary_images, batch_size, label_prior=label_prior).double().mean().item()


def train_pixelcnn(
    spec: PixelCNNSpec,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[PixelCNN, History]:
    """Train (or load the finished run cached for this spec) a PixelCNN on (uint8 training digits (N, 1, 28, 28),
    labels (N,)); a conditional spec trains (or loads) its recogniser first and freezes it. `retrain` retrains the
    PixelCNN only.

    Evaluations during training: the NLL of the first `spec.eval_images` test digits and of as many training digits,
    both binarized with evaluation seed 0 (so train and test are the same quantity: -log p(x), every pixel a hole)."""
    model = PixelCNN(spec.model)
    if spec.recogniser is not None:  # r(y | x_obs) first, then frozen: the PixelCNN learns p(x_hole | x_obs, y)
        recogniser, _ = train_recogniser(spec.recogniser, train_data, test_data, device)
        model.condition.recognise.load_state_dict(recogniser.state_dict())
        model.condition.recognise.requires_grad_(False)
    eval_test = eval_binarization(test_data[0][: spec.eval_images])
    eval_train = eval_binarization(train_data[0][: spec.eval_images])
    eval_fn = lambda m: {"train_nll": test_nll(m, eval_train), "test_nll": test_nll(m, eval_test)}  # noqa: E731
    loss = functools.partial(pixelcnn_loss, p_all_holes=spec.p_all_holes, p_label_fed=spec.p_label_fed)
    with bf16_training(model, device, spec.bf16) as loss_precision:
        return train_or_load(model, "pixelcnn", spec, loss_precision(loss), train_data, eval_fn, device, retrain)
