"""Evaluation randomness is disjoint from training randomness (hole 2): named streams with unrelated seeds, and the
noise the training loop draws for each model never equals the noise its test evaluation draws."""

from __future__ import annotations

import itertools

import pytest
import torch

from asgn2 import pixelcnn, realnvp
from asgn2.data import eval_binarization
from asgn2.randomness import STREAMS, generator, stream_seed
from asgn2.training import TrainConfig, train


def test_stream_seeds_are_distinct_and_reproducible():
    seeds = [stream_seed(name, s) for name, s in itertools.product(STREAMS, range(20))]
    assert len(set(seeds)) == len(seeds)
    assert torch.equal(
        torch.rand(5, generator=generator("sampling", 3)), torch.rand(5, generator=generator("sampling", 3))
    )
    with pytest.raises(ValueError, match="unknown random stream"):
        stream_seed("testing")


@pytest.fixture
def drawn(monkeypatch):
    """Every uniform tensor of image shape (N, 1, 28, 28) drawn by torch.rand, as rows (N, 784), in order."""
    rows: list[torch.Tensor] = []
    original = torch.rand

    def recording_rand(*args, **kwargs):
        out = original(*args, **kwargs)
        if out.dim() == 4 and out.shape[1:] == (1, 28, 28):
            rows.append(out.flatten(1).clone())
        return out

    monkeypatch.setattr(torch, "rand", recording_rand)
    return rows


def shares_a_row(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    a, b = torch.cat(a), torch.cat(b)
    return bool((a[:, None] == b[None]).all(-1).any())


IMAGES = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
CONFIG = TrainConfig(epochs=2, batch_size=32, seed=0)


def test_realnvp_test_noise_is_not_training_noise(drawn):
    model = realnvp.real_nvp(realnvp.RealNVPConfig(n_couplings=2, hidden=8))
    train(model, realnvp.realnvp_loss, IMAGES, CONFIG)
    training_noise = list(drawn)
    drawn.clear()
    for seed in range(3):
        realnvp.test_bits_per_dim(model, IMAGES, seed=seed)
    assert len(training_noise) == 4 and len(drawn) == 3  # every draw was seen
    assert not shares_a_row(training_noise, drawn)


def test_pixelcnn_eval_binarization_is_not_training_binarization(drawn):
    model = pixelcnn.PixelCNN(pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3))
    train(model, pixelcnn.pixelcnn_loss, IMAGES, CONFIG)
    training_noise = list(drawn)
    drawn.clear()
    for seed in range(3):
        eval_binarization(IMAGES, seed)
    assert len(training_noise) == 4 and len(drawn) == 3
    assert not shares_a_row(training_noise, drawn)
