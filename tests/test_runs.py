"""What a saved run is reused for: only the same spec, trained in the same precision and device class."""

from __future__ import annotations

import pytest
import torch

from asgn2 import pixelcnn, runs
from asgn2.checkpoints import SpecMismatchError, load_checkpoint
from asgn2.training import TrainConfig

CONFIG = pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4)


def images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_a_checkpoint_records_the_precision_that_trained_it_and_serves_no_other(monkeypatch, tmp_path):
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path))
    spec = pixelcnn.PixelCNNSpec("precision", CONFIG, TrainConfig(max_steps=2, batch_size=8, bf16=True), 8)
    monkeypatch.setenv("ASGN2_BF16", "0")  # a CPU without fast bf16: the run trains in float32, and says so
    pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))
    saved = load_checkpoint(tmp_path / "pixelcnn-precision.pt")["spec"]
    assert saved["precision"] == "float32" and saved["device"] == "cpu"
    assert runs.trained_in(spec, "cpu") == {"precision": "float32", "device": "cpu"}
    pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))  # the same precision: loaded
    monkeypatch.setenv("ASGN2_BF16", "1")  # now the run would train in bf16: the float32 model is not served
    with pytest.raises(SpecMismatchError, match=r"precision: 'float32' -> 'bfloat16'"):
        pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))
