"""Hole masks: the evaluation families and the training family."""

from __future__ import annotations

import pytest
import torch

from asgn2.holes import HOLE_KINDS, SEEN, UNSEEN, hole_mask, training_holes


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
    with pytest.raises(ValueError, match="probability"):
        training_holes(2, p_all=1.5)


def test_families_are_named_once():
    assert set(SEEN).isdisjoint(UNSEEN) and len(HOLE_KINDS) == len(set(HOLE_KINDS))
