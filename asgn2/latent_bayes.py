"""Written Q1: classifiers built from a latent model and a deterministic decoder x = F_θ(z), all variables discrete.

A small reference implementation of the answer's formulas, used by the tests to check them against brute-force
enumeration of the joint distribution. The latent space is enumerated explicitly: `latents` (K, m) lists every z,
`decoded` (K, d) holds F_θ(z) for each of them. With S(x) = {z : F_θ(z) = x} (the pre-image of x):

  discriminative (Part 1):  Q_{w,θ}(y|x)  = Σ_{z∈S(x)} P(z) P_w(y|z) / Σ_{z∈S(x)} P(z)
  generative     (Part 4):  Q'_{w,θ}(y|x) = π(y) Σ_{z∈S(x)} P_w(z|y) / Σ_{y'} π(y') Σ_{z∈S(x)} P_w(z|y')

Both are undefined when x has zero probability under the model (S(x) empty, or zero mass on it); they raise then.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def decode_all(decoder: Callable[[np.ndarray], np.ndarray], latents: np.ndarray) -> np.ndarray:
    """F_θ applied to every enumerated latent: latents (K, m) -> decoded (K, d). Done once; θ is fixed."""
    decoded = np.asarray(decoder(np.asarray(latents)))
    if decoded.ndim != 2 or decoded.shape[0] != len(latents):
        raise ValueError(f"decoder must map (K, m) latents to (K, d) samples, got {decoded.shape}")
    return decoded


def preimage_mask(x: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Boolean (K,): which enumerated z satisfy F_θ(z) = x, i.e. the indicator of S(x)."""
    return np.all(decoded == np.asarray(x)[None, :], axis=1)


def discriminative_posterior(
    x: np.ndarray, decoded: np.ndarray, prior_z: np.ndarray, p_y_given_z: np.ndarray
) -> np.ndarray:
    """Q_{w,θ}(y|x), shape (C,): the latent classifier P_w(y|z) (K, C) averaged over P(z|x) ∝ P(z) 1[F_θ(z) = x]."""
    weights = prior_z * preimage_mask(x, decoded)
    evidence = weights.sum()  # P_θ(x) = Σ_{z∈S(x)} P(z)
    if evidence <= 0:
        raise ValueError(f"P(x) = 0 for x = {x}: no latent of positive prior decodes to it")
    return weights @ p_y_given_z / evidence


def generative_posterior(
    x: np.ndarray, decoded: np.ndarray, prior_y: np.ndarray, p_z_given_y: np.ndarray
) -> np.ndarray:
    """Q'_{w,θ}(y|x), shape (C,), from the label prior π (C,) and the latent generator P_w(z|y) (C, K)."""
    likelihood = p_z_given_y @ preimage_mask(x, decoded)  # P(x|y) = Σ_{z∈S(x)} P_w(z|y), shape (C,)
    joint = prior_y * likelihood
    if joint.sum() <= 0:
        raise ValueError(f"P(x) = 0 for x = {x} under every label")
    return joint / joint.sum()


def discriminative_nll(
    xs: np.ndarray, ys: np.ndarray, decoded: np.ndarray, prior_z: np.ndarray, p_y_given_z: np.ndarray
) -> float:
    """Empirical risk of Part 2: −(1/n) Σ_j log Q_{w,θ}(y_j | x_j)."""
    return -float(
        np.mean(
            [np.log(discriminative_posterior(x, decoded, prior_z, p_y_given_z)[y]) for x, y in zip(xs, ys, strict=True)]
        )
    )


def generative_nll(
    xs: np.ndarray, ys: np.ndarray, decoded: np.ndarray, prior_y: np.ndarray, p_z_given_y: np.ndarray
) -> float:
    """Empirical risk of Part 5: −(1/n) Σ_j [log π(y_j) + log Σ_{z∈S(x_j)} P_w(z|y_j)] (joint likelihood)."""
    pairs = zip(xs, ys, strict=True)
    terms = [np.log(prior_y[y]) + np.log(p_z_given_y[y] @ preimage_mask(x, decoded)) for x, y in pairs]
    return -float(np.mean(terms))


# ----------------------------------------------------------------------------- Algorithms 1 and 2 (tabular models)


def _log_preimage_masks(xs: np.ndarray, decoded: np.ndarray) -> torch.Tensor:
    """(n, K): 0 where F_θ(z_k) = x_j, -inf elsewhere; the pre-image search of both algorithms, done once."""
    masks = np.stack([preimage_mask(x, decoded) for x in xs])
    if not masks.any(axis=1).all():
        raise ValueError("some samples have an empty pre-image (outside the decoder's range)")
    return torch.log(torch.from_numpy(masks).double())


def _fit_softmax_table(
    shape: tuple[int, int], loss: Callable[[torch.Tensor], torch.Tensor], steps: int, lr: float, seed: int
) -> np.ndarray:
    """A tabular conditional softmax(w, dim=1) of `shape`, w fitted by full-batch Adam on loss(log_softmax(w))
    from a small random start (seeded); returns the table as probabilities."""
    generator = torch.Generator().manual_seed(seed)
    w = (0.01 * torch.randn(*shape, generator=generator, dtype=torch.float64)).requires_grad_()
    optimizer = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        value = loss(torch.log_softmax(w, dim=1))
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return torch.softmax(w.detach(), dim=1).numpy()


def train_discriminative(
    xs: np.ndarray,
    ys: np.ndarray,
    decoded: np.ndarray,
    prior_z: np.ndarray,
    n_classes: int,
    steps: int = 500,
    lr: float = 0.1,
    seed: int = 0,
) -> np.ndarray:
    """Algorithm 1 with a tabular P_w(y|z) = softmax(w[z]) (K, C), full-batch Adam on −(1/n) Σ log Q_{w,θ}(y_j|x_j)."""
    log_mask = _log_preimage_masks(xs, decoded)
    log_prior = torch.log(torch.as_tensor(prior_z, dtype=torch.float64))
    labels = torch.as_tensor(ys)
    log_evidence = torch.logsumexp(log_mask + log_prior, 1)  # log P(x_j) under the prior: w does not enter it

    def loss(log_softmax_w: torch.Tensor) -> torch.Tensor:
        log_p_y_given_z = log_softmax_w[:, labels].T  # (n, K): log P_w(y_j | z)
        return -(torch.logsumexp(log_mask + log_prior + log_p_y_given_z, 1) - log_evidence).mean()

    return _fit_softmax_table((len(decoded), n_classes), loss, steps, lr, seed)


def train_generative(
    xs: np.ndarray,
    ys: np.ndarray,
    decoded: np.ndarray,
    n_classes: int,
    steps: int = 500,
    lr: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2: π̂(y) = n_y / n in closed form; tabular P_w(z|y) = softmax(w[y]) (C, K) by Adam on
    −(1/n) Σ_j log Σ_{z∈S(x_j)} P_w(z|y_j). Returns (π̂ (C,), P_w(z|y) (C, K))."""
    prior_y = np.bincount(ys, minlength=n_classes) / len(ys)
    log_mask = _log_preimage_masks(xs, decoded)
    labels = torch.as_tensor(ys)

    def loss(log_softmax_w: torch.Tensor) -> torch.Tensor:
        log_p_z_given_y = log_softmax_w[labels]  # (n, K): log P_w(z | y_j)
        return -torch.logsumexp(log_mask + log_p_z_given_y, 1).mean()

    return prior_y, _fit_softmax_table((n_classes, len(decoded)), loss, steps, lr, seed)
