"""The inpainting evaluation end to end on a tiny model and real MNIST digits: rows, intervals, baselines."""

from __future__ import annotations

import math

import pytest
import torch

from asgn2.classifier import MnistClassifier
from asgn2.inpainting_eval import CONTEXT, InpaintingEvalSpec, evaluate, noise_floor, table
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig


@pytest.mark.mnist
def test_evaluation_rows_and_table(mnist_train, mnist_test):
    torch.manual_seed(0)
    model = PixelCNN(
        PixelCNNConfig(channels=8, n_blocks=1, head_channels=8, condition_channels=4, kernel_size=3)
    ).eval()
    judge = MnistClassifier().eval()
    spec = InpaintingEvalSpec(digits=12, samples=2, candidates=3, kinds=("top", "ring"))
    train = (mnist_train[0][:3000], mnist_train[1][:3000])
    rows = evaluate(model, judge, *mnist_test, *train, spec)
    methods = [(r["holes"], r["method"]) for r in rows]
    assert methods[0] == ("none", "original digits")
    for kind in spec.kinds:
        for method in ("black", "nearest", CONTEXT, "raster", "sir", "conditional"):
            assert (kind, method) in methods
    ring = {r["method"]: r for r in rows if r["holes"] == "ring"}
    assert not ring["raster"]["seen"] and ring["sir"]["ess"][0] <= spec.candidates
    for r in rows:
        for key in ("agree", "vote", "pixels", "nll", "diversity"):
            if key in r:
                mean, half = r[key]
                assert half >= 0 and (key in ("nll", "diversity") or 0 <= mean <= 1)
    assert "diversity" not in ring["black"] and ring["conditional"]["nll"][0] > ring[CONTEXT]["nll"][0] > 0
    text = table(rows, spec.candidates)
    assert "ring (unseen)" in text and "sir (K = 3, ESS" in text


def test_noise_floor_is_the_bernoulli_entropy_of_the_grey_levels_over_the_hole():
    grey = torch.tensor([0, 255, 51, 204], dtype=torch.uint8).view(1, 1, 2, 2)
    known = torch.tensor([False, False, False, True]).view(1, 1, 2, 2)
    p = 51 / 255
    expected = -(p * math.log(p) + (1 - p) * math.log(1 - p))  # black and white pixels: no noise; 204 is observed
    assert noise_floor(grey, known).item() == pytest.approx(expected)


def test_spec_needs_at_least_as_many_candidates_as_samples():
    with pytest.raises(ValueError, match="candidates"):
        InpaintingEvalSpec(digits=10, samples=8, candidates=4)
