"""MNIST as whole tensors, and binarization.

`torchvision.datasets.MNIST` converts every item to a PIL image on access; that is the slow path on a CPU. We read
its decoded tensors once (`.data`, `.targets`) and batch them ourselves.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import torch

from .randomness import generator as stream

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SPLITS = ("train", "test")
IMAGE_SHAPE = (1, 28, 28)  # one MNIST digit: (channels, height, width)
PIXELS = 784  # = 28 * 28, the dimension D of a digit


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds `MNIST/raw/`: the argument, else env `ASGN2_DATA`, else `./data`."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("ASGN2_DATA", "data"))


def _download_allowed(download: bool | None) -> bool:
    """Explicit argument wins; otherwise download unless env `ASGN2_OFFLINE` is set to a true value."""
    if download is not None:
        return download
    return os.environ.get("ASGN2_OFFLINE", "").lower() not in ("1", "true", "yes")


def _missing_files(root: Path) -> list[str]:
    raw = root / "MNIST" / "raw"
    return [name for name in MNIST_FILES if not (raw / name).is_file()]


def _unpack_archives(root: Path) -> None:
    """Unpack `<file>.gz` wherever only the archive is in `<root>/MNIST/raw/` (as the MNIST site serves them), each
    through a temporary file renamed into place, so an interrupted unpack never leaves a truncated file."""
    raw = root / "MNIST" / "raw"
    for name in MNIST_FILES:
        target, archive = raw / name, raw / f"{name}.gz"
        if archive.is_file() and not target.is_file():
            partial = raw / f"{name}.partial"
            with gzip.open(archive, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target)


def load_mnist(
    split: str = "train", root: str | os.PathLike | None = None, download: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return MNIST `split` as `(images uint8 (N, 1, 28, 28), labels int64 (N,))`.

    N is 60000 for "train" and 10000 for "test". The files are read from `<root>/MNIST/raw/`; when they are missing
    they are downloaded if allowed (see `_download_allowed`), otherwise a `FileNotFoundError` says what to put where.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    from torchvision.datasets import MNIST  # deferred: torchvision is slow to import

    root = data_root(root)
    _unpack_archives(root)
    missing = _missing_files(root)
    if missing and not _download_allowed(download):
        raise FileNotFoundError(
            f"MNIST not found: {', '.join(missing)} missing from {(root / 'MNIST' / 'raw').resolve()}. "
            f"Put the four files {', '.join(MNIST_FILES)} (unpacked, or as .gz) there, point env ASGN2_DATA at the "
            "folder that holds MNIST/raw/, or allow the download (download=True, or unset ASGN2_OFFLINE)."
        )
    try:
        dataset = MNIST(root=str(root), train=(split == "train"), download=bool(missing))
    except (OSError, RuntimeError) as err:
        raise FileNotFoundError(
            f"Could not read or download MNIST into {(root / 'MNIST' / 'raw').resolve()} ({err}). "
            f"Without a network, copy the files {', '.join(MNIST_FILES)} there."
        ) from err
    images = dataset.data.unsqueeze(1).contiguous()  # (N, 28, 28) -> (N, 1, 28, 28)
    labels = dataset.targets.to(torch.int64)
    return images, labels


def check_uint8_images(images: torch.Tensor, name: str = "images") -> None:
    """Raise `ValueError` unless `images` is a uint8 tensor of shape (N, 1, H, W)."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of dtype uint8 and shape (N, 1, H, W), got {type(images)}")
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(
            f"{name} must be uint8 with shape (N, 1, H, W) (pixel values 0..255), "
            f"got dtype {images.dtype} and shape {tuple(images.shape)}"
        )


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastically binarize uint8 images (N, 1, H, W) to float32 {0., 1.} of the same shape: one Bernoulli draw
    per pixel with probability intensity/255, from `generator` (the same generator state gives the same dataset).
    This is the convention of the binarized-MNIST likelihood benchmarks (e.g. PixelCNN's 81.30 nats). Evaluations
    pass a generator of their own stream (`asgn2.randomness`); without one the draw comes from the global RNG of the
    images' device (training's stream, `fresh_binarization`)."""
    check_uint8_images(images)
    device = images.device if generator is None else generator.device
    uniform = torch.rand(images.shape, generator=generator, device=device).to(images.device)
    return (uniform < images.to(torch.float32) / 255.0).to(torch.float32)


def fresh_binarization(images: torch.Tensor) -> torch.Tensor:
    """A new Bernoulli draw per pixel of uint8 images (N, 1, H, W), float {0., 1.}, from the global (training)
    stream on the images' device: training sees every digit binarized anew each time (data augmentation)."""
    return binarize(images)


def eval_binarization(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Stochastically binarized digits (N, 1, 28, 28) for an evaluation, drawn from the "eval-binarization" stream
    with evaluation seed `seed`: disjoint from the binarizations that training draws."""
    return binarize(images, stream("eval-binarization", seed))


def label_frequencies(labels: torch.Tensor) -> torch.Tensor:
    """pi(y), (10,) float: how often each digit 0-9 occurs among `labels` (N,) int, the weights of a label mixture."""
    if labels.dtype not in (torch.int64, torch.int32, torch.uint8) or labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(
            f"labels must be a non-empty int tensor (N,) of digits, got {labels.dtype} {tuple(labels.shape)}"
        )
    if bool(((labels < 0) | (labels > 9)).any()):
        raise ValueError("labels must be digits 0-9")
    return torch.bincount(labels.long(), minlength=10).double().div(labels.numel()).float()
