"""A small MNIST classifier: the feature map for FID on MNIST, and the judge of inpainted digits.

Inception-v3 weights (what Heusel et al. 2017 use for FID) cannot be downloaded offline, and on MNIST a digit
classifier's penultimate layer is the usual substitute feature map.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import load_mnist
from .profiles import resolve_profile
from .training import History, TrainConfig, checkpoint_dir, fit_or_load, train

FEATURE_DIM = 128

# Sizes and budgets per profile. One epoch is 468 steps of 128 images.
PROFILES: dict[str, TrainConfig] = {
    "quick": TrainConfig(epochs=1, lr=3e-3, warmup_steps=50, weight_decay=1e-4, desc="classifier"),
    "default": TrainConfig(epochs=2, lr=3e-3, warmup_steps=100, weight_decay=1e-4, desc="classifier"),
    "full": TrainConfig(epochs=8, lr=3e-3, warmup_steps=200, weight_decay=1e-4, desc="classifier"),
}


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
def extract_features(model: MnistClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Penultimate-layer features (N, 128), float32 on the CPU, for uint8 or [0, 1]-float images (N, 1, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.features(to_unit(chunk).to(device)).cpu() for chunk in images.split(batch_size)])


def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (predict(model, images) == labels).float().mean().item()


def checkpoint_path(profile: str) -> Path:
    return checkpoint_dir() / f"classifier-{profile}.pt"


def train_classifier(
    profile: str | None = None, root: str | None = None, device: str | None = None, retrain: bool = False
) -> tuple[MnistClassifier, History]:
    """Train (or load the cached) classifier for `profile`; evaluation on the test set is in `history.evals`."""
    profile = resolve_profile(profile)
    path = checkpoint_path(profile)
    model = MnistClassifier()

    def fit() -> History:
        train_x, train_y = load_mnist("train", root)
        test_x, test_y = load_mnist("test", root)
        return train(
            model,
            _loss,
            (train_x, train_y),
            PROFILES[profile],
            eval_fn=lambda m: {"test_accuracy": accuracy(m, test_x, test_y)},
            checkpoint=path,
            device=device,
        )

    return fit_or_load(model, path, fit, retrain, device)


def get_classifier(profile: str | None = None, root: str | None = None, device: str | None = None) -> MnistClassifier:
    """The trained classifier for `profile`, trained on first use and cached under `checkpoint_dir()`."""
    return train_classifier(profile, root, device)[0]


def _cli_train(args: argparse.Namespace) -> None:
    model, history = train_classifier(args.profile, args.data, args.device, retrain=args.retrain)
    final = history.evals[-1]
    print(
        f"classifier ({resolve_profile(args.profile)} profile): test accuracy {100 * final['test_accuracy']:.2f}% "
        f"after {history.steps} steps, {history.wall_time_s:.1f} s training; checkpoint "
        f"{checkpoint_path(resolve_profile(args.profile))}"
    )


def run_main(args: argparse.Namespace) -> None:
    """Step of `python -m asgn2 run`."""
    _cli_train(argparse.Namespace(**{**vars(args), "retrain": False}))


def add_commands(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train-classifier", parents=[common], help="train (or load) the MNIST classifier")
    p.add_argument("--retrain", action="store_true", help="ignore a cached checkpoint and train again")
    p.set_defaults(func=_cli_train)
