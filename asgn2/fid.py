"""Fréchet distance between Gaussians and the FID (written Q4), on features of the MNIST classifier.

Heusel et al. (2017) compute the FID on the 2048-dimensional pool_3 activations of an ImageNet Inception-v3. Those
weights cannot be downloaded offline and are meaningless on 28 x 28 digits, so here the feature map F_θ is the MNIST
classifier's 128-dimensional penultimate layer (`asgn2.classifier.extract_features`). The numbers are therefore an
"FID on MNIST classifier features", comparable with each other, not with published Inception FIDs.

    FID = ‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2})

The matrix Σ1 Σ2 is not symmetric, and a general `sqrtm` of it returns complex values and NaNs when the covariances
are singular (n ≤ d) or nearly so. But Σ1 Σ2 is similar to the symmetric PSD matrix Σ1^{1/2} Σ2 Σ1^{1/2}, so
tr (Σ1 Σ2)^{1/2} = Σ_i sqrt(λ_i(Σ1^{1/2} Σ2 Σ1^{1/2})), which `frechet_distance` computes with two symmetric
eigendecompositions: always real and finite.
"""

from __future__ import annotations

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


def _as_features(features: Array, name: str = "features") -> np.ndarray:
    """(N, D) float64 numpy array, or a clear error."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} must be finite, got NaN or inf entries")
    return features


class GaussianStatistics:
    """Streaming mean and unbiased covariance of (N, D) features, fed batch by batch (float64).

    Batches are merged with Chan et al.'s pairwise update of the mean and of the scatter matrix
    M2 = Σ_j (z_j − μ)(z_j − μ)ᵀ, which stays accurate for large n (no Σ z zᵀ − n μ μᵀ cancellation).
    """

    def __init__(self) -> None:
        self.n = 0
        self._mean: np.ndarray | None = None
        self._scatter: np.ndarray | None = None

    def update(self, batch: Array) -> GaussianStatistics:
        batch = _as_features(batch, "batch")
        if self._mean is not None and batch.shape[1] != self._mean.shape[0]:
            raise ValueError(f"batch has {batch.shape[1]} features, earlier batches had {self._mean.shape[0]}")
        m = batch.shape[0]
        if m == 0:
            return self
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_scatter = centred.T @ centred
        if self._mean is None:
            self.n, self._mean, self._scatter = m, batch_mean, batch_scatter
            return self
        delta = batch_mean - self._mean
        total = self.n + m
        self._scatter = self._scatter + batch_scatter + np.outer(delta, delta) * (self.n * m / total)
        self._mean = self._mean + delta * (m / total)
        self.n = total
        return self

    @property
    def mean(self) -> np.ndarray:
        """μ̂ = (1/n) Σ_j z_j, shape (D,)."""
        if self._mean is None:
            raise ValueError("no features seen yet")
        return self._mean

    @property
    def covariance(self) -> np.ndarray:
        """Σ̂ = 1/(n−1) Σ_j (z_j − μ̂)(z_j − μ̂)ᵀ, shape (D, D)."""
        if self.n < 2:
            raise ValueError(f"the unbiased covariance needs at least 2 samples, got {self.n}")
        return self._scatter / (self.n - 1)


def gaussian_statistics(features: Array) -> tuple[np.ndarray, np.ndarray]:
    """(μ̂ (D,), Σ̂ (D, D)) of features (N, D), N ≥ 2, in float64 with the unbiased 1/(N−1) covariance."""
    stats = GaussianStatistics().update(features)
    return stats.mean, stats.covariance


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix; rounding-level negative eigenvalues are clipped to 0."""
    eigenvalues, eigenvectors = np.linalg.eigh(sigma)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def _check_gaussian(mu: np.ndarray, sigma: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"{name}: expected mean (D,) and covariance (D, D), got {mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"{name}: mean and covariance must be finite")
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(sigma).max())):
        raise ValueError(f"{name}: covariance must be symmetric")
    return mu, (sigma + sigma.T) / 2  # exact symmetry for eigh


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr (Σ1 Σ2)^{1/2} = Σ_i sqrt(λ_i(Σ1^{1/2} Σ2 Σ1^{1/2})), real for any PSD pair."""
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2}) between N(μ1, Σ1) and N(μ2, Σ2); a finite float ≥ 0.

    The squared 2-Wasserstein distance between the two Gaussians, hence ≥ 0; a rounding-level negative is
    returned as 0.
    """
    mu1, sigma1 = _check_gaussian(mu1, sigma1, "first Gaussian")
    mu2, sigma2 = _check_gaussian(mu2, sigma2, "second Gaussian")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the Gaussians have different dimensions: {mu1.shape[0]} and {mu2.shape[0]}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def fid(features_a: Array, features_b: Array) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D)."""
    return frechet_distance(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


# ----------------------------------------------------------------------------- images -> features -> FID


def image_statistics(images: torch.Tensor, model: torch.nn.Module, batch_size: int = 1000) -> GaussianStatistics:
    """Streaming Gaussian statistics of the classifier features (`asgn2.classifier.extract_features`, the MNIST
    classifier standing in for the Inception-v3 of Heusel et al.) of images (N, 1, 28, 28), uint8 or float in [0, 1].
    """
    from .classifier import extract_features

    stats = GaussianStatistics()
    for chunk in images.split(batch_size):
        stats.update(extract_features(model, chunk, batch_size=batch_size))
    return stats


def fid_images(images_a: torch.Tensor, images_b: torch.Tensor, model: torch.nn.Module, batch_size: int = 1000) -> float:
    """FID between two image sets (N, 1, 28, 28) on the features of the MNIST classifier `model`."""
    a = image_statistics(images_a, model, batch_size)
    b = image_statistics(images_b, model, batch_size)
    return frechet_distance(a.mean, a.covariance, b.mean, b.covariance)
