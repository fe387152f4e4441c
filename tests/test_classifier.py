"""The MNIST classifier: shapes, input checks, a short real training run, and checkpoint reuse."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from asgn2 import classifier
from asgn2.classifier import FEATURE_DIM, MnistClassifier, accuracy, extract_features, to_unit


def test_shapes_and_features():
    model = MnistClassifier().eval()
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    assert model(to_unit(x)).shape == (3, 10)
    features = extract_features(model, x)
    assert features.shape == (3, FEATURE_DIM) and features.dtype == torch.float32
    # the features are what the head sees: the logits are a linear function of them
    assert torch.allclose(model.head(features), model(to_unit(x)), atol=1e-5)


def test_to_unit_checks_input():
    assert to_unit(torch.full((1, 1, 28, 28), 255, dtype=torch.uint8)).max() == 1.0
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        to_unit(torch.zeros(2, 28, 28))


@pytest.mark.mnist
def test_short_training_learns_and_is_cached(monkeypatch):
    short = dataclasses.replace(classifier.PROFILES["quick"], max_steps=60, warmup_steps=10)
    monkeypatch.setitem(classifier.PROFILES, "quick", short)
    model, history = classifier.train_classifier("quick")
    assert history.done and history.steps == 60
    assert history.evals[-1]["test_accuracy"] > 0.90  # 60 steps of 128 images already separate the digits

    cached, again = classifier.train_classifier("quick")  # reuses the checkpoint: no training
    assert again.step_loss == history.step_loss
    test_x, test_y = classifier.load_mnist("test")
    assert accuracy(cached, test_x[:2000], test_y[:2000]) == accuracy(model, test_x[:2000], test_y[:2000])
