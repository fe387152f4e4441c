"""The recogniser r(y | x_obs): a function of each digit's observed pixels only, trained first and then frozen in
the conditional PixelCNN."""

from __future__ import annotations

import pytest
import torch

from asgn2 import pixelcnn
from asgn2.holes import hole_mask
from asgn2.pixelcnn import PixelCNNConfig, PixelCNNSpec
from asgn2.recogniser import (
    Recogniser,
    RecogniserSpec,
    accuracy,
    label_nll,
    observed_logits,
    recogniser_loss,
    train_recogniser,
)
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
    pcnn_spec = PixelCNNSpec(
        "test",
        PixelCNNConfig(channels=8, n_blocks=1, head_channels=8, condition_channels=4, recogniser_width=8),
        TrainConfig(max_steps=5, batch_size=32, lr=3e-3),
        p_all_holes=0.5,
        p_label_fed=0.5,
        recogniser=spec,
        eval_images=100,
    )
    model, _ = pixelcnn.train_pixelcnn(
        pcnn_spec, mnist_train[0], mnist_test[0], train_labels=mnist_train[1], test_labels=mnist_test[1]
    )
    for frozen, trained in zip(model.condition.recognise.parameters(), recogniser.parameters(), strict=True):
        assert torch.equal(frozen, trained)  # loaded from the cached recogniser, not changed by PixelCNN training
    with pytest.raises(ValueError, match="pass test_labels"):
        pixelcnn.train_pixelcnn(pcnn_spec, mnist_train[0], mnist_test[0], train_labels=mnist_train[1])


def test_label_nll_scales_the_logits_by_the_temperature():
    torch.manual_seed(0)
    model = Recogniser(8)
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 3, 4, 5])
    logits = observed_logits(model, images, "left")
    for t in (0.5, 1.0, 2.0):
        expected = -(logits / t).log_softmax(1)[torch.arange(6), labels].mean().item()
        assert label_nll(model, images, labels, "left", t) == pytest.approx(expected, rel=1e-6)
    assert accuracy(model, images, labels, "left") == (logits.argmax(1) == labels).float().mean().item()
    with pytest.raises(ValueError, match="temperature must be positive"):
        label_nll(model, images, labels, "left", 0.0)


def test_bf16_loss_is_float32_and_close():
    model = Recogniser(8)
    batch = (torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (16,)))
    losses = []
    for bf16 in (False, True):
        torch.manual_seed(1)  # the same binarization and holes
        losses.append(recogniser_loss(model, batch, bf16=bf16))
    assert losses[1].dtype == torch.float32
    assert losses[1].item() == pytest.approx(losses[0].item(), rel=0.02)


def test_spec_checks_the_recogniser():
    spec = RecogniserSpec("test", TrainConfig(), width=8)
    with pytest.raises(ValueError, match="recogniser_width"):
        PixelCNNSpec("t", PixelCNNConfig(condition_channels=4), TrainConfig(), p_all_holes=0.5, recogniser=spec)
    config = PixelCNNConfig(condition_channels=4, recogniser_width=8)
    with pytest.raises(ValueError, match="label_weight must be 0"):
        PixelCNNSpec("t", config, TrainConfig(), p_all_holes=0.5, label_weight=1.0, recogniser=spec)
    with pytest.raises(ValueError, match="condition_net 'coarse'"):
        PixelCNNSpec("t", PixelCNNConfig(recogniser_width=8), TrainConfig(), recogniser=spec)
    unet = PixelCNNConfig(condition_channels=4, condition_net="unet", recogniser_width=8)
    with pytest.raises(ValueError, match="condition_net 'coarse'"):
        PixelCNNSpec("t", unet, TrainConfig(), p_all_holes=0.5, recogniser=spec)
