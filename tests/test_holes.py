"""Hole masks: the evaluation families and the training family."""

from __future__ import annotations

import math

import pytest
import torch

from asgn2 import conditional, recogniser
from asgn2.holes import HOLE_KINDS, SEEN, UNSEEN, _brush_strokes, hole_mask, training_holes
from asgn2.pixelcnn import PixelCNNConfig


@pytest.mark.parametrize("kind", HOLE_KINDS)
def test_hole_masks_reproducible_and_sensible(kind):
    known = hole_mask(kind, 6, seed=1)
    assert known.shape == (6, 1, 28, 28) and known.dtype == torch.bool
    assert torch.equal(known, hole_mask(kind, 6, seed=1))
    hole_fraction = (~known).float().mean(dim=(1, 2, 3))
    assert (hole_fraction > 0.02).all() and (hole_fraction < 0.8).all()
    if kind in ("rectangles", "brush"):
        assert not torch.equal(known, hole_mask(kind, 6, seed=2))


def test_fixed_hole_geometry():
    rows = lambda kind: (~hole_mask(kind, 1))[0, 0].nonzero()[:, 0].unique().tolist()  # noqa: E731
    cols = lambda kind: (~hole_mask(kind, 1))[0, 0].nonzero()[:, 1].unique().tolist()  # noqa: E731
    assert rows("bottom") == list(range(14, 28)) and rows("top") == list(range(14))
    assert cols("right") == list(range(14, 28)) and cols("left") == list(range(14))
    assert (~hole_mask("centre", 1)).sum() == 14 * 14
    diagonal = ~hole_mask("diagonal", 1)[0, 0]
    assert diagonal[27, 27] and not diagonal[0, 0] and diagonal.sum() == sum(range(28))  # r + c >= 28
    ring = ~hole_mask("ring", 1)[0, 0]
    assert not ring[14, 14] and not ring[0, 0] and ring[14, 21]  # a band around the centre


def test_training_family_is_broad_and_reproducible():
    known = training_holes(600, torch.Generator().manual_seed(0), p_all=0.25)
    assert torch.equal(known, training_holes(600, torch.Generator().manual_seed(0), p_all=0.25))
    fraction = (~known).float().mean(dim=(1, 2, 3))
    every = fraction == 1
    assert 0.18 < every.float().mean() < 0.32  # about p_all of them: every pixel a hole
    assert (fraction[~every] > 0).all() and fraction[~every].std() > 0.1  # the rest: holes of many sizes
    assert training_holes(10, p_all=1.0).logical_not().all()
    default = (~training_holes(600, torch.Generator().manual_seed(0))).flatten(1).all(1).float().mean()
    assert 0.42 < default < 0.58  # the default p_all is 0.5
    with pytest.raises(ValueError, match="probability"):
        training_holes(2, p_all=1.5)


def test_families_are_named_once():
    assert set(SEEN).isdisjoint(UNSEEN) and len(HOLE_KINDS) == len(set(HOLE_KINDS))


def _brush_strokes_one_segment_at_a_time(generator: torch.Generator) -> torch.Tensor:
    """The obvious painter: each segment's 8 discs OR-ed into the mask as it is drawn (the same draws, in order)."""
    rows, cols = torch.meshgrid(torch.arange(28).float(), torch.arange(28).float(), indexing="ij")
    hole = torch.zeros(28, 28, dtype=torch.bool)
    uniform = lambda: float(torch.rand((), generator=generator))  # noqa: E731
    for _ in range(int(torch.randint(1, 4, (), generator=generator))):
        y, x = uniform() * 28, uniform() * 28
        radius = 1.5 + uniform()
        for _ in range(int(torch.randint(3, 7, (), generator=generator))):
            angle, length = uniform() * 2 * math.pi, 3 + uniform() * 6
            t = torch.linspace(0, 1, 8)[:, None, None]
            cy, cx = y + t * length * math.sin(angle), x + t * length * math.cos(angle)
            hole |= ((rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2).any(0)
            y = min(max(y + length * math.sin(angle), 0.0), 27.0)
            x = min(max(x + length * math.cos(angle), 0.0), 27.0)
    return hole


def test_brush_strokes_equal_the_segment_by_segment_painter():
    """The discs are painted five segments at a time; the masks (evaluation and training) must not change by it."""
    for seed in range(200):
        fast_generator, slow_generator = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        assert torch.equal(_brush_strokes(fast_generator), _brush_strokes_one_segment_at_a_time(slow_generator)), seed
        assert torch.equal(fast_generator.get_state(), slow_generator.get_state())  # the same draws, so later masks too


def test_fixed_families_have_the_symmetries_of_their_shapes():
    """Halves mirror each other, the centre square and the ring are symmetric about the image's centre (13.5,
    13.5), and the ring is the band of pixels about 7 from it: catches a family drawn off centre or too wide."""
    hole = {kind: ~hole_mask(kind, 1)[0, 0] for kind in ("top", "bottom", "left", "right", "centre", "ring")}
    assert torch.equal(hole["top"].flip(0), hole["bottom"]) and torch.equal(hole["left"].flip(1), hole["right"])
    assert torch.equal(hole["top"].T, hole["left"])
    for kind in ("centre", "ring"):
        assert torch.equal(hole[kind], hole[kind].flip(0)) and torch.equal(hole[kind], hole[kind].T), kind
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    radius = ((rows - 13.5) ** 2 + (cols - 13.5) ** 2).sqrt()
    assert (radius[hole["ring"]] - 7).abs().max() <= 1.3 and hole["ring"][(radius - 7).abs() <= 1.0].all()


def test_training_losses_draw_holes_with_their_p_all(monkeypatch):
    """The PixelCNN's loss hides every pixel of a fraction p_all_holes of its digits (its option, not
    training_holes' default), the recogniser's loss never hides a whole digit: the masks each network is given,
    seen by a spy on its input."""
    images = torch.randint(0, 256, (200, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 10, (200,), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    config = PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4)
    model = conditional.ConditionalPixelCNN(config, conditional.ConditionConfig(channels=4))
    seen = []
    model.condition.recognise.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[1]))
    for p_all in (0.9, 0.1):
        seen.clear()
        conditional.conditional_loss(model, (images, labels), p_all_holes=p_all, p_label_fed=0.5)
        every = (~seen[0]).flatten(1).all(1).float().mean().item()
        assert abs(every - p_all) < 0.08, p_all
    net = recogniser.Recogniser(4)
    net.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[1]))
    seen.clear()
    recogniser.recogniser_loss(net, (images, labels))
    assert seen[0].flatten(1).any(1).all()  # every digit shows some pixel
