"""Inpainting: hole masks, observed pixels kept exactly, fast sampler == naive sampler, SIR against the exact
posterior of a tiny model."""

from __future__ import annotations

import itertools

import pytest
import torch

from asgn2.inpainting import HOLE_KINDS, METHODS, hole_mask, inpaint, observed_log_likelihood
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.sampling import sample_holes, sample_holes_naive


def tiny_model(seed: int = 0, scale: float = 0.5) -> PixelCNN:
    torch.manual_seed(seed)
    model = PixelCNN(PixelCNNConfig(channels=8, n_blocks=2, head_channels=8))
    for p in model.parameters():
        p.data.normal_(0, scale)
    return model.eval()


def images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


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
    assert (~hole_mask("bottom", 1))[0, 0].nonzero()[:, 0].unique().tolist() == list(range(14, 28))
    assert (~hole_mask("right", 1))[0, 0].nonzero()[:, 1].unique().tolist() == list(range(14, 28))
    assert (~hole_mask("centre", 1)).sum() == 14 * 14


@pytest.mark.parametrize(("kind", "method"), list(itertools.product(HOLE_KINDS, METHODS)))
def test_observed_pixels_kept_exactly(kind, method):
    x, known = images(3), hole_mask(kind, 3, seed=3)
    out = inpaint(
        tiny_model(), x, known, method, samples_per_image=2, candidates=3, generator=torch.Generator().manual_seed(0)
    )
    assert out.shape == (3, 2, 1, 28, 28)
    expanded = known.unsqueeze(1).expand_as(out)
    assert torch.equal(out[expanded], x.unsqueeze(1).expand_as(out)[expanded])
    assert set(out.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("kind", ["bottom", "brush"])
def test_fast_sampler_equals_naive(kind):
    model, x, known = tiny_model(), images(3), hole_mask(kind, 3, seed=5)
    fast = sample_holes(model, x, known, torch.Generator().manual_seed(7))
    naive = sample_holes_naive(model, x, known, torch.Generator().manual_seed(7))
    assert torch.equal(fast, naive)
    assert not torch.equal(fast[~known], x[~known])  # it did sample something


def test_sir_with_one_candidate_is_raster():
    model, x, known = tiny_model(), images(2), hole_mask("centre", 2)
    raster = inpaint(model, x, known, "raster", 1, generator=torch.Generator().manual_seed(4))
    sir = inpaint(model, x, known, "sir", 1, candidates=1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(raster, sir)


def test_observed_log_likelihood_splits_log_prob():
    model, x, known = tiny_model(), images(3), hole_mask("brush", 3)
    hole_part = observed_log_likelihood(model, x, ~known)
    assert torch.allclose(observed_log_likelihood(model, x, known) + hole_part, model.log_prob(x), atol=1e-3)


def test_sir_samples_the_exact_posterior():
    """One hole pixel with observed pixels after it: enumerate p(x_hole | x_obs) exactly and compare frequencies.

    Raster sampling draws the hole from p(x_hole | pixels before it) and ignores the evidence after it; SIR
    reweights by the likelihood of that evidence and must match the exact posterior."""
    model = tiny_model(seed=1, scale=0.5)
    x = images(1, seed=2)
    known = torch.ones_like(x, dtype=torch.bool)
    known[0, 0, 10, 10] = False
    with_0, with_1 = x.clone(), x.clone()
    with_0[0, 0, 10, 10], with_1[0, 0, 10, 10] = 0.0, 1.0
    log_joint = torch.stack([model.log_prob(with_0), model.log_prob(with_1)]).squeeze(1)
    posterior_1 = torch.softmax(log_joint, 0)[1].item()
    prior_1 = torch.sigmoid(model(x)[0, 0, 10, 10]).item()
    assert abs(posterior_1 - prior_1) > 0.15  # the evidence after the hole matters in this instance

    draws = 4000
    out = inpaint(
        model, x, known, "sir", samples_per_image=draws, candidates=400, generator=torch.Generator().manual_seed(0)
    )
    frequency = out[0, :, 0, 10, 10].mean().item()
    assert abs(frequency - posterior_1) < 0.05


def test_bad_inputs():
    model, x = tiny_model(), images(2)
    with pytest.raises(ValueError, match="known must be a bool tensor"):
        inpaint(model, x, torch.ones_like(x), "raster")
    with pytest.raises(ValueError, match="method must be one of"):
        inpaint(model, x, hole_mask("bottom", 2), "gibbs")
    with pytest.raises(ValueError, match="kind must be one of"):
        hole_mask("donut", 2)
    with pytest.raises(ValueError, match="candidates must be at least 1"):  # hole 4: it died in aminmax
        inpaint(model, x, hole_mask("bottom", 2), "sir", candidates=0)
