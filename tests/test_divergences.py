"""KL / JS divergences and the Bernoulli closed forms of written Q3, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asgn2.divergences import (
    bernoulli_js,
    bernoulli_kl,
    golden_section_minimize,
    js_divergence,
    kl_divergence,
    plot_q3,
    q3_minimizers,
)

LOG2 = math.log(2)


def _kl_loop(p, q) -> float:
    """Textbook double-precision loop, the reference for the vectorised version."""
    total = 0.0
    for pi, qi in zip(p, q, strict=True):
        if pi == 0:
            continue
        if qi == 0:
            return math.inf
        total += pi * math.log(pi / qi)
    return total


def _random_simplex(rng: np.random.Generator, shape: tuple[int, ...], zeros: bool = False) -> np.ndarray:
    x = rng.gamma(0.7, size=shape)
    if zeros:
        x[rng.random(shape) < 0.3] = 0.0
        x[..., 0] += 0.1  # at least one positive entry per distribution
    return x / x.sum(-1, keepdims=True)


def test_kl_matches_loop_and_is_batched():
    rng = np.random.default_rng(0)
    p, q = _random_simplex(rng, (4, 3, 6)), _random_simplex(rng, (4, 3, 6))
    kl = kl_divergence(p, q)
    assert kl.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert kl[i, j] == pytest.approx(_kl_loop(p[i, j], q[i, j]), rel=1e-12)


def test_kl_along_other_dim_and_base_2():
    rng = np.random.default_rng(1)
    p, q = _random_simplex(rng, (5, 7)), _random_simplex(rng, (5, 7))
    np.testing.assert_allclose(kl_divergence(p.T, q.T, dim=0), kl_divergence(p, q), rtol=1e-12)
    np.testing.assert_allclose(kl_divergence(p, q, base=2), kl_divergence(p, q) / LOG2, rtol=1e-12)


def test_torch_in_torch_out_agrees_with_numpy():
    rng = np.random.default_rng(2)
    p, q = _random_simplex(rng, (3, 5)), _random_simplex(rng, (3, 5))
    kl_t = kl_divergence(torch.from_numpy(p), torch.from_numpy(q))
    js_t = js_divergence(torch.from_numpy(p).float(), torch.from_numpy(q).float())
    assert isinstance(kl_t, torch.Tensor) and isinstance(js_t, torch.Tensor)
    np.testing.assert_allclose(kl_t.numpy(), kl_divergence(p, q), rtol=1e-12)
    np.testing.assert_allclose(js_t.numpy(), js_divergence(p, q), rtol=1e-5)


def test_zero_log_zero_and_infinite_kl():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == pytest.approx(math.log(2))  # the p = 0 entry contributes 0, not NaN
    assert kl_divergence(q, p) == math.inf  # q puts mass where p has none
    assert kl_divergence(torch.tensor(q), torch.tensor(p)).item() == math.inf
    assert math.isfinite(js_divergence(q, p))
    # disjoint supports: JS attains its maximum log 2
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(LOG2, rel=1e-15)


@pytest.mark.parametrize(
    "p, q, message",
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], "non-negative"),
        ([0.5, 0.4, 0.0], [0.3, 0.3, 0.4], "sum to 1"),
        ([0.5, 0.5], [0.3, 0.3, 0.4], "broadcastable"),
        ([0.5, np.nan, 0.5], [0.3, 0.3, 0.4], "finite"),
    ],
)
def test_bad_input_raises(p, q, message):
    with pytest.raises(ValueError, match=message):
        kl_divergence(np.array(p), np.array(q))
    with pytest.raises(ValueError, match=message):
        js_divergence(np.array(p), np.array(q))


def test_bad_base_raises():
    with pytest.raises(ValueError, match="base"):
        kl_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5]), base=1)


# ----------------------------------------------------------------------------- JS: the properties of Q3

simplex_pairs = (
    arrays(np.float64, st.integers(2, 8).map(lambda k: (2, k)), elements=st.floats(0, 10))
    .filter(lambda a: bool((a.sum(-1) > 1e-3).all()))
    .map(lambda a: a / a.sum(-1, keepdims=True))
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(simplex_pairs)
def test_js_symmetric_bounded_non_negative(pq):
    p, q = pq
    js_pq, js_qp = js_divergence(p, q), js_divergence(q, p)
    assert js_pq == pytest.approx(js_qp, abs=1e-14)
    assert -1e-15 <= js_pq <= LOG2 + 1e-12
    assert kl_divergence(p, q) >= -1e-15  # Gibbs' inequality (possibly +inf)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(simplex_pairs)
def test_js_zero_iff_equal(pq):
    p, q = pq
    assert js_divergence(p, p) == 0.0
    if np.abs(p - q).max() > 1e-3:
        assert js_divergence(p, q) > 0
        assert kl_divergence(p, q) > 0


def test_js_of_subnormal_probabilities_is_finite():
    """M = (P + Q)/2 underflows to 0 for P(x) = 5e-324, Q(x) = 0 (found by hypothesis); JS stays finite."""
    p, q = np.array([1.0, 5e-324]), np.array([1.0, 0.0])
    assert js_divergence(p, q) == pytest.approx(0.0, abs=1e-300)
    assert js_divergence(torch.tensor(p), torch.tensor(q)).item() == pytest.approx(0.0, abs=1e-300)


def test_js_zero_iff_kl_zero_under_full_support():
    """Q3's last part, numerically: with full support, JS → 0 exactly as KL → 0 (both ~ quadratic in P − Q)."""
    rng = np.random.default_rng(3)
    p = _random_simplex(rng, (6,)) * 0.5 + 0.5 / 6  # full support
    direction = rng.normal(size=6)
    direction -= direction.mean()
    for eps in (1e-2, 1e-3):
        q = p + eps * direction / np.abs(direction).max() * p.min()
        kl, js = kl_divergence(p, q), js_divergence(p, q)
        assert kl > 0 and js > 0
        assert 0.2 < js / kl < 0.3  # KL ≈ χ²/2 and JS ≈ χ²/8 for nearby distributions, so JS/KL → 1/4


# ----------------------------------------------------------------------------- Bernoulli closed forms


def test_bernoulli_closed_forms_match_generic():
    theta = np.linspace(0, 1, 101)
    for q in (0.3, 0.05, 0.9):
        p_table = np.stack([theta, 1 - theta], axis=-1)
        q_table = np.broadcast_to(np.array([q, 1 - q]), p_table.shape)
        np.testing.assert_allclose(bernoulli_kl(theta, q), kl_divergence(p_table, q_table), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bernoulli_js(theta, q), js_divergence(p_table, q_table), rtol=1e-12, atol=1e-15)


def test_bernoulli_written_values():
    """The endpoint values quoted in the written answer."""
    assert bernoulli_kl(0.0, 0.3) == pytest.approx(math.log(1 / 0.7))
    assert bernoulli_kl(1.0, 0.3) == pytest.approx(math.log(1 / 0.3))
    assert bernoulli_kl(0.3, 0.3) == 0.0
    assert bernoulli_js(0.3, 0.3) == 0.0
    # θ = 0: M = (0.15, 0.85); JS = ½ log(1/0.85) + ½[0.3 log 2 + 0.7 log(0.7/0.85)]
    expected = 0.5 * math.log(1 / 0.85) + 0.5 * (0.3 * math.log(2) + 0.7 * math.log(0.7 / 0.85))
    assert bernoulli_js(0.0, 0.3) == pytest.approx(expected, rel=1e-12)


def test_bernoulli_derivatives_vanish_only_at_q():
    """dKL/dθ = log(θ(1−q) / ((1−θ)q)), dJS/dθ = ½ log(θ(1−m) / ((1−θ)m)): checked by finite differences."""
    q, h = 0.3, 1e-6
    for theta in (0.1, 0.3, 0.55, 0.9):
        m = (theta + q) / 2
        dkl = (bernoulli_kl(theta + h, q) - bernoulli_kl(theta - h, q)) / (2 * h)
        djs = (bernoulli_js(theta + h, q) - bernoulli_js(theta - h, q)) / (2 * h)
        assert dkl == pytest.approx(math.log(theta * (1 - q) / ((1 - theta) * q)), abs=1e-7)
        assert djs == pytest.approx(0.5 * math.log(theta * (1 - m) / ((1 - theta) * m)), abs=1e-7)


@pytest.mark.parametrize("q", [0.3, 0.12, 0.8])
def test_theta_star_is_q(q):
    minimizers = q3_minimizers(q)
    assert minimizers["kl"] == pytest.approx(q, abs=1e-7)
    assert minimizers["js"] == pytest.approx(q, abs=1e-6)  # JS is flatter (quadratic with a smaller curvature)
    # and the grid agrees: no θ on a fine grid does better
    grid = np.linspace(1e-4, 1 - 1e-4, 9999)
    assert bernoulli_kl(grid, q).min() >= bernoulli_kl(minimizers["kl"], q) - 1e-15
    assert bernoulli_js(grid, q).min() >= bernoulli_js(minimizers["js"], q) - 1e-15


def test_golden_section_finds_known_minimum():
    assert golden_section_minimize(lambda t: (t - 0.123) ** 2, 0, 1) == pytest.approx(0.123, abs=1e-8)


def test_bernoulli_rejects_bad_theta():
    with pytest.raises(ValueError, match="theta"):
        bernoulli_kl(1.5, 0.3)


def test_plot_q3_command_writes_figure_and_values(tmp_path):
    from asgn2.cli import main

    main(["plot-q3", "--out", str(tmp_path / "fig.pdf")])
    assert (tmp_path / "fig.pdf").stat().st_size > 5000
    values = (tmp_path / "fig_values.tex").read_text()
    assert "\\newcommand{\\ThetaStarKL}{0.300000}" in values and "\\newcommand{\\ThetaStarJS}{0.300000}" in values


def test_plot_q3_writes_figure(tmp_path):
    out = tmp_path / "q3.png"
    minimizers = plot_q3(out, points=199)
    assert out.stat().st_size > 5000
    assert minimizers["kl"] == pytest.approx(0.3, abs=1e-7)


def test_bernoulli_js_entropy_form_and_local_quadratics():
    """The other forms quoted in the written answer: JS = H_b(m) − ½H_b(θ) − ½H_b(q); near θ* = q,
    KL ≈ (θ−q)² / (2q(1−q)) and JS ≈ (θ−q)² / (8q(1−q)); the reverse KL(Q‖P) diverges at both ends."""
    q = 0.3
    theta = np.linspace(0.01, 0.99, 99)

    def h_b(t):
        return -t * np.log(t) - (1 - t) * np.log(1 - t)

    np.testing.assert_allclose(
        bernoulli_js(theta, q), h_b((theta + q) / 2) - h_b(theta) / 2 - h_b(q) / 2, rtol=1e-10, atol=1e-15
    )
    delta = 1e-3
    assert bernoulli_kl(q + delta, q) == pytest.approx(delta**2 / (2 * q * (1 - q)), rel=1e-2)
    assert bernoulli_js(q + delta, q) == pytest.approx(delta**2 / (8 * q * (1 - q)), rel=1e-2)
    reverse = kl_divergence(np.array([q, 1 - q]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert np.all(reverse == math.inf)
