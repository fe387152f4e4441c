"""The recogniser r(y | x_obs): a function of each digit's observed pixels only, trained first and then frozen in
the conditional PixelCNN."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from asgn2 import conditional, data
from asgn2.conditional import ConditionalSpec, ConditionConfig
from asgn2.holes import hole_mask
from asgn2.pixelcnn import PixelCNNConfig, PixelCNNSpec
from asgn2.recogniser import Recogniser, RecogniserSpec, accuracy, train_recogniser
from asgn2.training import TrainConfig


def test_recogniser_sees_each_digits_observed_pixels_only():
    torch.manual_seed(0)
    model = Recogniser(8)
    x = (torch.rand(4, 1, 28, 28) < 0.3).float()
    known = hole_mask("brush", 4, seed=1)
    changed = torch.where(known, x, 1 - x)  # every hole pixel flipped
    assert torch.equal(model(x, known), model(changed, known))
    alone = model(x[:1], known[:1])  # no batch statistics: a digit's logits do not depend on the others
    assert torch.allclose(model(x, known)[:1], alone, atol=1e-6)
    assert not torch.allclose(model(x, known), model(x, ~known))


@pytest.mark.mnist
def test_recogniser_learns_and_the_pixelcnn_keeps_it_frozen(mnist_train, mnist_test):
    spec = RecogniserSpec("test", TrainConfig(max_steps=60, batch_size=128, lr=3e-3, warmup_steps=5), width=8)
    recogniser, history = train_recogniser(spec, mnist_train, mnist_test)
    top = history.evals[-1]["top_half_accuracy"]
    assert top > 0.3 and top == pytest.approx(accuracy(recogniser, mnist_test[0][:2000], mnist_test[1][:2000]))
    pcnn_spec = ConditionalSpec(
        "test",
        PixelCNNConfig(channels=8, n_blocks=1, kernel_size=3, head_channels=8),
        ConditionConfig(channels=4, recogniser_width=8),
        TrainConfig(max_steps=5, batch_size=32, lr=3e-3),
        recogniser=spec,
        p_all_holes=0.5,
        p_label_fed=0.5,
        eval_images=100,
    )
    model, _ = conditional.train_conditional(pcnn_spec, mnist_train, mnist_test)
    assert not any(p.requires_grad for p in model.condition.recognise.parameters())
    for frozen, trained in zip(model.condition.recognise.parameters(), recogniser.parameters(), strict=True):
        assert torch.equal(frozen, trained)  # loaded from the cached recogniser, not changed by PixelCNN training


def test_accuracy_counts_the_digits_named_right():
    """Brute force: the recogniser's argmax over the observed pixels of each digit, counted by hand."""
    torch.manual_seed(0)
    model = Recogniser(8)
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    x = data.eval_binarization(images)
    known = hole_mask("left", 6)
    with torch.no_grad():
        named = [int(model(x[i : i + 1], known[i : i + 1]).argmax()) for i in range(6)]
    labels = torch.tensor([named[0], named[1], (named[2] + 1) % 10, named[3], (named[4] + 1) % 10, named[5]])
    assert accuracy(model, images, labels, "left") == pytest.approx(4 / 6)


def test_recogniser_refuses_images_that_are_not_28_by_28():
    with pytest.raises(ValueError, match="28 x 28"):
        Recogniser(8)(torch.zeros(2, 1, 32, 32), torch.ones(2, 1, 32, 32, dtype=torch.bool))


def test_spec_checks_the_recogniser():
    """A conditional spec's recogniser must be as wide as the one in its conditioning network (its default one is);
    a plain spec has no recogniser at all."""
    spec = RecogniserSpec("test", TrainConfig(), width=8)
    with pytest.raises(ValueError, match="recogniser_width"):
        ConditionalSpec("t", PixelCNNConfig(), ConditionConfig(channels=4), TrainConfig(), recogniser=spec)
    with pytest.raises(ValueError, match="recogniser_width"):
        ConditionalSpec("t", PixelCNNConfig(), ConditionConfig(channels=4, recogniser_width=8), TrainConfig())
    fitting = ConditionalSpec(
        "t", PixelCNNConfig(), ConditionConfig(recogniser_width=8), TrainConfig(), recogniser=spec
    )
    assert fitting.recogniser.width == fitting.condition.recogniser_width == 8
    default = ConditionalSpec("t")
    assert default.recogniser.width == default.condition.recogniser_width
    assert "recogniser" not in {f.name for f in dataclasses.fields(PixelCNNSpec)}
    for p_all_holes, p_label_fed in ((1.5, 0.5), (0.5, -0.1)):
        with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
            ConditionalSpec("t", p_all_holes=p_all_holes, p_label_fed=p_label_fed)
