"""MNIST loading (real files), the missing-data error, and binarization."""

from __future__ import annotations

import gzip
import struct

import pytest
import torch

from asgn2.data import MNIST_FILES, binarize, load_mnist


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.mnist
@pytest.mark.parametrize(
    ("split", "n", "histogram"), [("train", 60000, TRAIN_HISTOGRAM), ("test", 10000, TEST_HISTOGRAM)]
)
def test_load_mnist_real(split, n, histogram, request):
    images, labels = request.getfixturevalue(f"mnist_{split}")
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == histogram
    assert images.min() == 0 and images.max() == 255


def test_missing_data_offline_names_files_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist("train", root=tmp_path, download=False)
    message = str(info.value)
    assert all(name in message for name in MNIST_FILES)
    assert str((tmp_path / "MNIST" / "raw").resolve()) in message


def _idx(values: torch.Tensor) -> bytes:
    """uint8 values in the IDX format of the MNIST files: magic (0, 0, 8 = unsigned byte, rank), sizes, the bytes."""
    return (
        struct.pack(">I", 0x0800 + values.dim())
        + struct.pack(f">{values.dim()}I", *values.shape)
        + bytes(values.flatten().tolist())
    )


def test_gz_archives_alone_are_unpacked_and_read(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = {
        split: torch.randint(0, 256, (n, 28, 28), generator=gen(n), dtype=torch.uint8)
        for split, n in (("train", 5), ("t10k", 3))
    }
    labels = {
        split: torch.randint(0, 10, (len(x),), generator=gen(7), dtype=torch.uint8) for split, x in images.items()
    }
    for split in images:  # as the MNIST site serves them: .gz only
        (raw / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images[split])))
        (raw / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels[split])))
    x, y = load_mnist("test", root=tmp_path, download=False)
    assert torch.equal(x, images["t10k"].unsqueeze(1)) and torch.equal(y, labels["t10k"].long())
    assert sorted(p.name for p in raw.iterdir() if not p.name.endswith(".gz")) == sorted(MNIST_FILES)


def test_offline_env_forbids_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ASGN2_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="ASGN2_DATA"):
        load_mnist("test", root=tmp_path)


def test_bad_split():
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation")


def test_stochastic_binarization_reproducible_and_unbiased():
    images = torch.full((200, 1, 28, 28), 64, dtype=torch.uint8)
    a, b = binarize(images, gen(3)), binarize(images, gen(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, binarize(images, gen(4)))
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    p, n = 64 / 255, a.numel()
    assert abs(a.mean().item() - p) < 5 * (p * (1 - p) / n) ** 0.5


def test_stochastic_binarization_keeps_extremes():
    images = torch.tensor([0, 255], dtype=torch.uint8).reshape(1, 1, 1, 2).repeat(50, 1, 1, 1)
    binary = binarize(images, gen(0))
    assert binary[..., 0].eq(0).all() and binary[..., 1].eq(1).all()


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.zeros(2, 1, 28, 28), "uint8"),
        (torch.zeros(2, 28, 28, dtype=torch.uint8), r"\(N, 1, H, W\)"),
    ],
)
def test_binarize_bad_input(images, match):
    with pytest.raises(ValueError, match=match):
        binarize(images)
