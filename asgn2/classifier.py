"""A small MNIST classifier: the feature map for FID on MNIST, and the judge of inpainted digits.

Inception-v3 weights (what Heusel et al. 2017 use for FID) cannot be downloaded offline, and on MNIST a digit
classifier's penultimate layer is the usual substitute feature map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .randomness import seeded
from .runs import train_or_load
from .training import History, TrainConfig

FEATURE_DIM = 128


class MnistClassifier(nn.Module):
    """LeNet-style CNN with batch norm: (N, 1, 28, 28) float in [0, 1] -> logits (N, 10).

    `features(x) -> (N, 128)` is the penultimate layer (after ReLU), used for FID.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 5, padding=2, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 x 14
            nn.Conv2d(width, 2 * width, 5, padding=2, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7 x 7
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(2 * width * 7 * 7, FEATURE_DIM),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> float32 in [0, 1]; float input is taken to be in [0, 1] already (e.g. binary)."""
    if (
        images.dim() != 4
        or images.shape[1:] != (1, 28, 28)
        or not (images.dtype == torch.uint8 or images.is_floating_point())
    ):
        raise ValueError(
            "expected images of shape (N, 1, 28, 28), uint8 or float in [0, 1]; "
            f"got {images.dtype} {tuple(images.shape)}"
        )
    if images.dtype == torch.uint8:
        return images.to(torch.float32) / 255.0
    return images.to(torch.float32)


def _loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    images, labels = batch
    return F.cross_entropy(model(to_unit(images)), labels)


@torch.no_grad()
def predict(model: MnistClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels (N,) for uint8 or [0, 1]-float images (N, 1, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(to_unit(chunk).to(device)).argmax(1).cpu() for chunk in images.split(batch_size)]
    return torch.cat(out)


@torch.no_grad()
def confidence(model: MnistClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's probability of its predicted label (the largest softmax output), (N,), for uint8 or
    [0, 1]-float images (N, 1, 28, 28): how clearly an image is some digit."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(to_unit(chunk).to(device)).softmax(1).amax(1).cpu() for chunk in images.split(batch_size)]
    return torch.cat(out)


def confident_fraction(model: MnistClassifier, images: torch.Tensor, threshold: float = 0.9) -> float:
    """The fraction of images (N, 1, 28, 28) that the classifier labels with probability at least `threshold`."""
    return (confidence(model, images) >= threshold).float().mean().item()


@torch.no_grad()
def extract_features(model: MnistClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Penultimate-layer features (N, 128), float32 on the CPU, for uint8 or [0, 1]-float images (N, 1, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.features(to_unit(chunk).to(device)).cpu() for chunk in images.split(batch_size)])


def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (predict(model, images) == labels).float().mean().item()


@dataclass(frozen=True)
class ClassifierSpec:
    """Everything that makes the trained classifier: its width and the training run (on the grey-level digits)."""

    name: str  # names the checkpoint file: classifier-<name>.pt
    train: TrainConfig
    width: int = 16


def train_classifier(
    spec: ClassifierSpec,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    device: torch.device | str = "cpu",
    retrain: bool = False,
) -> tuple[MnistClassifier, History]:
    """Train (or load the finished run cached for this spec) on (uint8 images, labels); the test accuracy at the
    end of training is `history.evals[-1]["test_accuracy"]`."""
    eval_fn = lambda m: {"test_accuracy": accuracy(m, *test_data)}  # noqa: E731
    with seeded("init", spec.train.seed):
        model = MnistClassifier(spec.width)
    return train_or_load(model, "classifier", spec, _loss, train_data, eval_fn, device, retrain)
