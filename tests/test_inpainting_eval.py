"""The inpainting evaluation end to end on a tiny model and real MNIST digits: rows, intervals, baselines."""

from __future__ import annotations

import pytest
import torch

from asgn2.classifier import MnistClassifier
from asgn2.inpainting_eval import InpaintingEvalSpec, evaluate, table
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig


@pytest.mark.mnist
def test_evaluation_rows_and_table(mnist_train, mnist_test):
    torch.manual_seed(0)
    model = PixelCNN(PixelCNNConfig(channels=8, n_blocks=1, head_channels=8, condition_channels=4)).eval()
    judge = MnistClassifier().eval()
    spec = InpaintingEvalSpec(digits=12, samples=2, candidates=3, kinds=("top", "ring"))
    train = (mnist_train[0][:3000], mnist_train[1][:3000])
    rows = evaluate(model, judge, *mnist_test, *train, spec)
    methods = [(r["holes"], r["method"]) for r in rows]
    assert methods[0] == ("none", "original digits")
    for kind in spec.kinds:
        for method in ("black", "nearest", "10-NN vote on observed pixels", "raster", "sir", "conditional"):
            assert (kind, method) in methods
    ring = {r["method"]: r for r in rows if r["holes"] == "ring"}
    assert not ring["raster"]["seen"] and ring["sir"]["ess"][0] <= spec.candidates
    for r in rows:
        for key in ("agree", "vote", "pixels", "nll", "diversity"):
            if key in r:
                mean, half = r[key]
                assert half >= 0 and (key in ("nll", "diversity") or 0 <= mean <= 1)
    assert "diversity" not in ring["black"] and ring["conditional"]["nll"][0] > 0
    text = table(rows, spec.candidates)
    assert "ring (unseen)" in text and "sir (K = 3, ESS" in text


def test_spec_needs_at_least_as_many_candidates_as_samples():
    with pytest.raises(ValueError, match="candidates"):
        InpaintingEvalSpec(digits=10, samples=8, candidates=4)
