"""Gaussian statistics, the Fréchet distance and the FID (written Q4), against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from asgn2.classifier import MnistClassifier, extract_features
from asgn2.fid import (
    GaussianStatistics,
    fid,
    fid_images,
    frechet_distance,
    gaussian_statistics,
    image_statistics,
    trace_sqrt_product,
)


def _random_spd(rng: np.random.Generator, d: int, condition: float = 50.0) -> np.ndarray:
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (u * np.geomspace(1.0, 1.0 / condition, d)) @ u.T


def _reference_frechet(mu1, s1, mu2, s2) -> float:
    """The textbook formula with a general matrix square root (what pytorch-fid does)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def test_statistics_match_numpy():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 7)) @ rng.normal(size=(7, 7)) + 3.0
    mu, sigma = gaussian_statistics(torch.from_numpy(z).float())
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, z.mean(0), rtol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(z, rowvar=False, ddof=1), rtol=1e-5, atol=1e-6)


def test_streaming_equals_one_shot():
    rng = np.random.default_rng(1)
    z = rng.normal(loc=100.0, size=(1003, 5))  # a large mean: the naive Σ zzᵀ − nμμᵀ would lose digits
    stats = GaussianStatistics()
    for chunk in np.array_split(z, [1, 17, 500, 501, 900]):  # uneven chunks, one of size 1
        stats.update(chunk)
    assert stats.n == 1003
    np.testing.assert_allclose(stats.mean, z.mean(0), rtol=1e-13)
    np.testing.assert_allclose(stats.covariance, np.cov(z, rowvar=False), rtol=1e-10, atol=1e-12)


def test_statistics_errors():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        gaussian_statistics(np.zeros(5))
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_statistics(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="features"):
        GaussianStatistics().update(np.zeros((3, 4))).update(np.zeros((3, 5)))


@pytest.mark.parametrize("d", [2, 16, 64])
def test_frechet_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d, condition=10.0)
    value = frechet_distance(mu1, s1, mu2, s2)
    assert value == pytest.approx(_reference_frechet(mu1, s1, mu2, s2), rel=1e-6)


def test_frechet_closed_form_for_commuting_covariances():
    """Σ1 = U diag(a) Uᵀ, Σ2 = U diag(b) Uᵀ commute: D_F = ‖μ1 − μ2‖² + Σ_i (√a_i − √b_i)²."""
    rng = np.random.default_rng(2)
    d = 10
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a, b = rng.uniform(0.1, 4.0, d), rng.uniform(0.0, 4.0, d)
    b[:3] = 0.0  # Σ2 singular: still exact
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    value = frechet_distance(mu1, (u * a) @ u.T, mu2, (u * b) @ u.T)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    # zero eigenvalues come out as ±1e-16 and √ turns that into ~1e-8: the accuracy limit at a singular Σ
    assert value == pytest.approx(expected, rel=1e-7)


def test_frechet_of_one_dimensional_gaussians():
    # N(m1, s1²), N(m2, s2²): (m1 − m2)² + (s1 − s2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]])) == pytest.approx(
        9.0 + 1.0
    )


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(500, 32)) @ rng.normal(size=(32, 32))
    assert fid(z, z) < 1e-6
    assert fid(z, z + 0.5) == pytest.approx(32 * 0.25, rel=1e-6)  # a pure shift costs ‖shift‖²


def test_fid_is_real_and_finite_when_n_below_d():
    """n < d: both covariances are singular, where a general sqrtm gives complex values or NaNs."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(20, 128)), rng.normal(size=(30, 128)) + 0.1
    value = fid(a, b)
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    # same answer as the definition computed in extended steps: a PSD pair has tr √(Σ1Σ2) = Σ √λ(Σ1Σ2)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2)
    assert np.abs(eig.imag).max() < 1e-8 * np.abs(eig).max()
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.sqrt(np.clip(eig.real, 0, None)).sum(), rel=1e-6)
    assert fid(a, a) < 1e-6


def test_frechet_input_errors():
    with pytest.raises(ValueError, match="dimensions"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"\(D, D\)"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


# ----------------------------------------------------------------------------- images, with a tiny classifier


@pytest.fixture
def one_thread():
    """Small convolutions: intra-op threads cost more than they save on a loaded 2-core machine. Restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.mnist
def test_fid_images_with_a_small_random_classifier(mnist_test, one_thread):
    """A randomly initialised classifier is still a fixed feature map: FID(digits, other digits) is far smaller
    than FID(digits, noise); batching does not change the statistics."""
    torch.manual_seed(0)
    model = MnistClassifier(width=4).eval()
    images = mnist_test[0][:600]
    real_a, real_b = images[:300], images[300:]
    noise = torch.randint(0, 256, real_a.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    stats = image_statistics(real_a, model, batch_size=64)
    mu, sigma = gaussian_statistics(extract_features(model, real_a))
    np.testing.assert_allclose(stats.mean, mu, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stats.covariance, sigma, rtol=1e-5, atol=1e-7)
    assert fid_images(real_a, real_a, model) < 1e-6
    real_real, real_noise = fid_images(real_a, real_b, model), fid_images(real_a, noise, model)
    assert 0 < real_real < real_noise / 5


def test_mean_term_bias_formula():
    """Q4: E‖μ̂1 − μ̂2‖² = ‖μ1 − μ2‖² + tr Σ1 / n + tr Σ2 / N, through the project's code (5000 repetitions): μ̂ from
    `gaussian_statistics`, and the mean term from `frechet_distance` of N(μ̂1, Σ1) and N(μ̂2, Σ2) with the true
    covariances, minus its trace term (the distance at μ̂1 = μ̂2). Catches a mean term that is not the squared
    distance of the means, and sample means that are not the means."""
    rng = np.random.default_rng(5)
    d, n, big_n, reps = 4, 10, 30, 5000
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    l1, l2 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = l1 @ l1.T, l2 @ l2.T
    a = mu1 + rng.normal(size=(reps, n, d)) @ l1.T
    b = mu2 + rng.normal(size=(reps, big_n, d)) @ l2.T
    trace_term = frechet_distance(np.zeros(d), s1, np.zeros(d), s2)
    mean_terms = [
        frechet_distance(gaussian_statistics(x)[0], s1, gaussian_statistics(y)[0], s2) - trace_term
        for x, y in zip(a, b, strict=True)
    ]
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) / n + np.trace(s2) / big_n
    assert np.mean(mean_terms) == pytest.approx(expected, rel=0.03)
    assert np.mean(mean_terms) - np.sum((mu1 - mu2) ** 2) > 0.5 * (np.trace(s1) / n + np.trace(s2) / big_n)  # biased
    # and the bias is visible in the FID itself: two samples of one Gaussian have a positive FID that shrinks with n
    z = rng.normal(size=(40000, 8))
    small, large = fid(z[:100], z[100:200]), fid(z[:20000], z[20000:])
    assert small > 10 * large > 0
