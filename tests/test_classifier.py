"""The MNIST classifier: shapes, input checks, a short real training run, and checkpoint reuse."""

from __future__ import annotations

import pytest
import torch

from asgn2 import classifier
from asgn2.classifier import FEATURE_DIM, MnistClassifier, accuracy, extract_features, to_unit
from asgn2.training import TrainConfig


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
def test_short_training_learns_and_is_cached(mnist_train, mnist_test):
    spec = classifier.ClassifierSpec("test", TrainConfig(max_steps=60, lr=3e-3, warmup_steps=10))
    model, history = classifier.train_classifier(spec, mnist_train, mnist_test)
    assert history.done and history.steps == 60
    assert history.evals[-1]["test_accuracy"] > 0.90  # 60 steps of 128 images already separate the digits

    cached, again = classifier.train_classifier(spec, mnist_train, mnist_test)  # reuses the checkpoint: no training
    assert again.step_loss == history.step_loss
    test_x, test_y = mnist_test[0][:2000], mnist_test[1][:2000]
    assert accuracy(cached, test_x, test_y) == accuracy(model, test_x, test_y)
