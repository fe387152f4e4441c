"""The written answers against the project's code: Q1's formulas and risks (asgn2.latent_bayes) against brute-force
enumeration, Q2's density formula on the project's flows (asgn2.flows) and its risk identity (asgn2.divergences),
Q3's equality case of the log 2 bound and Q4's bias terms of the plug-in FID (asgn2.fid), and the four PDFs compiled
with latexmk (when TeX is installed; CI installs it). The rest of Q3 and Q4 is in test_divergences.py and
test_fid.py. Each test against an independent reference (enumeration, closed form, scipy) names the bug it catches."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from asgn2.divergences import js_divergence, kl_divergence
from asgn2.fid import fid
from asgn2.flows import Composite, Logit, Scale, StandardNormal
from asgn2.latent_bayes import (
    decode_all,
    discriminative_nll,
    discriminative_posterior,
    generative_nll,
    generative_posterior,
    train_discriminative,
    train_generative,
)
from asgn2.realnvp import AffineCoupling

WRITTEN = Path(__file__).resolve().parent.parent / "written"

# ----------------------------------------------------------------------------- Q1: a toy latent model

LATENTS = np.array(list(itertools.product(range(3), repeat=3)))  # z ∈ {0,1,2}^3, K = 27
N_CLASSES = 3


def toy_decoder(z: np.ndarray) -> np.ndarray:
    """Deterministic and many-to-one: x = (min(z1 + z2, 3), z3 mod 2) — 8 possible x, fibres of sizes 1 to 6."""
    return np.stack([np.minimum(z[:, 0] + z[:, 1], 3), z[:, 2] % 2], axis=1)


ALL_X = np.array(list(itertools.product(range(5), range(2))))  # a superset of the range (x1 = 4 is never decoded)


def _toy_tables(seed: int):
    rng = np.random.default_rng(seed)
    prior_z = rng.dirichlet(np.ones(len(LATENTS)))
    prior_z[5] = 0.0  # a latent of zero prior: its fibre still has other members
    prior_z /= prior_z.sum()
    p_y_given_z = rng.dirichlet(np.ones(N_CLASSES), size=len(LATENTS))  # (K, C)
    prior_y = rng.dirichlet(np.ones(N_CLASSES))
    p_z_given_y = rng.dirichlet(np.ones(len(LATENTS)), size=N_CLASSES)  # (C, K)
    return prior_z, p_y_given_z, prior_y, p_z_given_y


def _brute_force_joint(joint_fn) -> dict[tuple[int, int], np.ndarray]:
    """P(x, y) (a row over y for each x) from the full joint table, summing P(z, x, y) over every (z, x, y) by
    explicit loops; joint_fn(k, y) is P(z_k, y), and P(x | z) = 1[F(z) = x]."""
    table = np.zeros((len(ALL_X), N_CLASSES))
    for k, z in enumerate(LATENTS):
        x_of_z = tuple(toy_decoder(z[None])[0])
        for i, x in enumerate(ALL_X):
            for y in range(N_CLASSES):
                table[i, y] += joint_fn(k, y) * (tuple(x) == x_of_z)
    return {tuple(x): table[i] for i, x in enumerate(ALL_X)}


def _brute_force_conditional(joint_fn) -> dict[tuple[int, int], np.ndarray]:
    """P(y | x) from the enumerated joint, for every x of positive probability."""
    return {x: row / row.sum() for x, row in _brute_force_joint(joint_fn).items() if row.sum() > 0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q1_discriminative_posterior_matches_enumeration(seed):
    prior_z, p_y_given_z, _, _ = _toy_tables(seed)
    decoded = decode_all(toy_decoder, LATENTS)
    reference = _brute_force_conditional(lambda k, y: prior_z[k] * p_y_given_z[k, y])
    assert len(reference) == 8  # every decodable x has positive probability
    for x, expected in reference.items():
        np.testing.assert_allclose(
            discriminative_posterior(np.array(x), decoded, prior_z, p_y_given_z), expected, rtol=1e-12
        )
    with pytest.raises(ValueError, match="P\\(x\\) = 0"):
        discriminative_posterior(np.array([4, 0]), decoded, prior_z, p_y_given_z)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q1_generative_posterior_matches_enumeration(seed):
    _, _, prior_y, p_z_given_y = _toy_tables(seed)
    decoded = decode_all(toy_decoder, LATENTS)
    reference = _brute_force_conditional(lambda k, y: prior_y[y] * p_z_given_y[y, k])
    for x, expected in reference.items():
        np.testing.assert_allclose(
            generative_posterior(np.array(x), decoded, prior_y, p_z_given_y), expected, rtol=1e-12
        )
    with pytest.raises(ValueError, match="P\\(x\\) = 0"):
        generative_posterior(np.array([4, 1]), decoded, prior_y, p_z_given_y)


@pytest.fixture(autouse=True)
def one_thread():
    """The tensors here are small: intra-op threads only add synchronisation, which on a loaded machine costs 10x
    (measured: Algorithm 1's test 35 s with 2 threads, 2 s with 1). Restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _sample_dataset(n: int, seed: int):
    """(x, y) pairs from the discriminative story z ~ P(z), x = F(z), y ~ P(y|z)."""
    prior_z, p_y_given_z, _, _ = _toy_tables(seed)
    rng = np.random.default_rng(seed + 100)
    z_index = rng.choice(len(LATENTS), size=n, p=prior_z)
    ys = np.array([rng.choice(N_CLASSES, p=p_y_given_z[k]) for k in z_index])
    return toy_decoder(LATENTS[z_index]), ys, prior_z, p_y_given_z


def _empirical_conditional(xs: np.ndarray, ys: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    out: dict[tuple[int, int], np.ndarray] = {}
    for x in {tuple(x) for x in xs}:
        rows = np.all(xs == np.array(x), axis=1)
        out[x] = np.bincount(ys[rows], minlength=N_CLASSES) / rows.sum()
    return out


def test_q1_discriminative_fit_reaches_the_maximum_likelihood():
    """With a tabular P_w(y|z), Q_{w,θ}(·|x) can be any distribution on each decodable x, so the maximum of the
    conditional likelihood is the empirical conditional n_xy / n_x. train_discriminative (Algorithm 1's loss ℓ_j
    averaged over all samples, minimised by full-batch Adam on a dense pre-image mask) must get there."""
    xs, ys, prior_z, p_true = _sample_dataset(2000, seed=0)
    decoded = decode_all(toy_decoder, LATENTS)
    p_fit = train_discriminative(xs, ys, decoded, prior_z, N_CLASSES, steps=400, lr=0.1)
    for x, expected in _empirical_conditional(xs, ys).items():
        np.testing.assert_allclose(discriminative_posterior(np.array(x), decoded, prior_z, p_fit), expected, atol=2e-3)
    assert discriminative_nll(xs, ys, decoded, prior_z, p_fit) <= discriminative_nll(xs, ys, decoded, prior_z, p_true)


def test_q1_generative_fit_reaches_the_maximum_likelihood():
    """Generative MLE: π̂ = class frequencies and Σ_{z∈S(x)} P_w(z|y) = n_xy / n_y, hence Q'(y|x) = n_xy / n_x.
    train_generative: π̂ in closed form, Algorithm 2's loss averaged over all samples by full-batch Adam."""
    xs, ys, _, _ = _sample_dataset(2000, seed=1)
    decoded = decode_all(toy_decoder, LATENTS)
    prior_y, p_z_fit = train_generative(xs, ys, decoded, N_CLASSES, steps=400, lr=0.1)
    np.testing.assert_allclose(prior_y, np.bincount(ys, minlength=N_CLASSES) / len(ys))
    for x, expected in _empirical_conditional(xs, ys).items():
        np.testing.assert_allclose(generative_posterior(np.array(x), decoded, prior_y, p_z_fit), expected, atol=2e-3)
    # the fitted model is at least as likely as a uniform P_w(z|y)
    uniform = np.full((N_CLASSES, len(LATENTS)), 1 / len(LATENTS))
    assert generative_nll(xs, ys, decoded, prior_y, p_z_fit) < generative_nll(xs, ys, decoded, prior_y, uniform)


def test_q1_both_risks_match_enumeration():
    """Part 2's risk −(1/n) Σ log Q_{w,θ}(y_j|x_j) and Part 5's −(1/n) Σ log P_{w,θ}(x_j, y_j), against the same
    averages over the enumerated joint P(z, x, y). Catches discriminative_nll without the evidence −log P(x) (it
    would be −log P(x, y)) and generative_nll without log π(y) (the class-conditional likelihood, not the joint)."""
    for seed in (0, 1, 2):
        xs, ys, prior_z, p_y_given_z = _sample_dataset(300, seed)
        _, _, prior_y, p_z_given_y = _toy_tables(seed)
        decoded = decode_all(toy_decoder, LATENTS)
        conditional = _brute_force_conditional(lambda k, y, a=prior_z, b=p_y_given_z: a[k] * b[k, y])
        joint = _brute_force_joint(lambda k, y, a=prior_y, b=p_z_given_y: a[y] * b[y, k])
        expected_disc = -np.mean([np.log(conditional[tuple(x)][y]) for x, y in zip(xs, ys, strict=True)])
        expected_gen = -np.mean([np.log(joint[tuple(x)][y]) for x, y in zip(xs, ys, strict=True)])
        assert discriminative_nll(xs, ys, decoded, prior_z, p_y_given_z) == pytest.approx(expected_disc, rel=1e-12)
        assert generative_nll(xs, ys, decoded, prior_y, p_z_given_y) == pytest.approx(expected_gen, rel=1e-12)


# ----------------------------------------------------------------------------- Q2: z = f_w(x), on asgn2.flows


def _scalar_flow() -> Composite:
    """A non-affine, strictly increasing f: (−4c, 4(1 + c)) → R from the project's layers (Real NVP's preprocessing
    with other constants): z = logit(s), s = λ + (1 − 2λ) x / 4, λ = 0.05, c = λ / (1 − 2λ)."""
    return Composite([Scale(0.25), Logit(0.05)]).double()


SCALAR_DOMAIN = (-4 * 0.05 / 0.9, 4 * (1 + 0.05 / 0.9))


def _flow_log_terms(flow: Composite, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log Q(f(x)), log|det J_f(x)|), both (N,), from the project's forward pass and base density."""
    with torch.no_grad():
        z, log_det = flow(x)
    return StandardNormal(z.shape[1]).log_prob(z), log_det


def test_q2_scalar_density_of_a_project_flow_integrates_to_one():
    """(eq:1d) with the project's log-det: Q(f(x)) f'(x) integrates to 1 over the flow's domain (scipy quad), and
    the lecture's formula wrongly applied in this direction, Q(f(x)) / f'(x), does not. Catches a sign error in a
    forward log-det (Logit's or Scale's; Logit's turns the first into the second), a dropped log(1 − 2λ) (mass 1/0.9)
    and a dropped Scale log-det (mass 4)."""
    flow = _scalar_flow()

    def density(x: float, sign: float = 1.0) -> float:
        log_q, log_det = _flow_log_terms(flow, torch.tensor([[x]], dtype=torch.float64))
        return math.exp((log_q + sign * log_det).item())

    mass, _ = scipy.integrate.quad(density, *SCALAR_DOMAIN, epsabs=1e-12, limit=200)
    assert mass == pytest.approx(1.0, abs=1e-8)
    wrong, _ = scipy.integrate.quad(density, *SCALAR_DOMAIN, args=(-1.0,), epsabs=1e-12, limit=200)
    assert abs(wrong - 1.0) > 0.1


def test_q2_scalar_density_is_the_derivative_of_the_cdf_and_matches_samples():
    """Part 1's derivation on a project flow: F_X(x) = Φ(f(x)) (scipy's Φ), so (i) the density from the log-det equals
    dΦ(f(x))/dx by central differences and (ii) samples x = f^{-1}(z), z ~ N(0, 1), pushed through the project's
    inverse, fall in each bin with probability Φ(f(b)) − Φ(f(a)) (within 5 standard errors). (i) catches a wrong
    log-det (sign, missing term); (ii) catches an inverse that does not undo forward (e.g. Scale's inverse
    multiplying by the factor, or Logit's forgetting λ)."""
    flow = _scalar_flow()
    x = torch.linspace(-0.2, 4.2, 111, dtype=torch.float64)[:, None]
    log_q, log_det = _flow_log_terms(flow, x)
    h = 1e-6

    def cdf(t: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return scipy.stats.norm.cdf(flow(t)[0][:, 0].numpy())

    numerical = (cdf(x + h) - cdf(x - h)) / (2 * h)
    np.testing.assert_allclose((log_q + log_det).exp().numpy(), numerical, rtol=1e-6, atol=1e-9)

    z = torch.randn(200_000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        samples = flow.inverse(z)[0][:, 0]
    edges = torch.linspace(-0.2, 4.2, 45, dtype=torch.float64)
    empirical = torch.histogram(samples, bins=edges).hist.numpy() / len(samples)
    bin_prob = np.diff(cdf(edges[:, None]))
    std = np.sqrt(bin_prob * (1 - bin_prob) / len(samples))
    assert np.all(np.abs(empirical - bin_prob) < 5 * std + 1e-6)


def _coupling_flow(d: int, seed: int) -> Composite:
    """Scale, Logit and two affine couplings (alternating halves) from the project, with random network weights:
    a non-affine flow R^d ⊃ (−4c, 4(1 + c))^d → R^d whose Jacobian is not diagonal."""
    generator = torch.Generator().manual_seed(seed)
    half = torch.arange(d) < d // 2
    flow = Composite([Scale(0.25), Logit(0.05), AffineCoupling(half, 8), AffineCoupling(~half, 8)]).double()
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return flow


def test_q2_multidimensional_formula_and_gaussian_risk_on_a_project_flow():
    """(eq:nd) on a project flow with couplings: log Q(f(x)) + log|det J_f(x)| from the layers' log-dets must equal
    scipy's N(0, I) log-density of f(x) plus log|det| of the Jacobian taken by autograd, and the Gaussian form of
    the risk, (1/n) Σ [½‖f(x)‖² − log|det J|] + (d/2) log 2π, must be minus its average. Catches a sign error in a
    coupling's (or Logit's) log-det, Scale's log-det counted once instead of d times, and a base density that
    drops or miscounts the −(d/2) log 2π constant."""
    d = 4
    flow = _coupling_flow(d, seed=3)
    x = 4 * torch.rand(32, d, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    log_q, log_det = _flow_log_terms(flow, x)
    with torch.no_grad():
        z = flow(x)[0]
    jacobians = [torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], row) for row in x]
    reference = scipy.stats.norm.logpdf(z.numpy()).sum(1) + np.array(
        [torch.linalg.slogdet(j).logabsdet.item() for j in jacobians]
    )
    np.testing.assert_allclose((log_q + log_det).numpy(), reference, rtol=1e-10, atol=1e-10)
    risk = (0.5 * (z**2).sum(1) - log_det).mean().item() + 0.5 * d * math.log(2 * math.pi)
    assert risk == pytest.approx(-reference.mean(), rel=1e-12)


def test_q2_expected_nll_is_kl_plus_entropy_and_the_risk_estimates_it():
    """Part 3: E_{x~P_data}[−log P_w(x)] = KL(P_data‖P_w) + H(P_data), with asgn2.divergences' KL against the
    cross-entropy summed directly; the empirical risk of n samples is its Monte-Carlo estimate (within 4 standard
    errors). Catches a KL with swapped arguments, in bits instead of nats, or with the log-ratio's sign flipped."""
    rng = np.random.default_rng(7)
    for _ in range(5):
        p_data, p_model = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        cross_entropy = -np.sum(p_data * np.log(p_model))
        entropy = -np.sum(p_data * np.log(p_data))
        assert kl_divergence(p_data, p_model) + entropy == pytest.approx(cross_entropy, rel=1e-12)
        x = rng.choice(6, size=20_000, p=p_data)
        nll = -np.log(p_model[x])
        assert abs(nll.mean() - cross_entropy) < 4 * nll.std() / math.sqrt(len(x))


# ----------------------------------------------------------------------------- Q3 and Q4: the claims checked here


def test_q3_js_equals_log_2_exactly_for_disjoint_supports():
    """Q3 Part 2's equality case, with asgn2.divergences' JS: JS = log 2 for disjoint supports (numpy and torch);
    with overlap, JS = log 2 − ½ Σ_{P>0} P log(1 + Q/P) − ½ Σ_{Q>0} Q log(1 + P/Q) (the proof's identity, summed by
    a loop) < log 2. Catches JS in bits (1 instead of log 2), a missing ½ (2 log 2) and KL(M‖P) for KL(P‖M) (+inf)."""
    rng = np.random.default_rng(11)
    for _ in range(5):
        support = rng.random(8) < 0.5
        support[0], support[1] = True, False
        p = np.where(support, rng.random(8), 0.0)
        q = np.where(~support, rng.random(8), 0.0)
        p, q = p / p.sum(), q / q.sum()
        assert js_divergence(p, q) == pytest.approx(math.log(2), rel=1e-12)
        assert js_divergence(torch.tensor(p), torch.tensor(q)).item() == pytest.approx(math.log(2), rel=1e-12)
        q_overlap = 0.9 * q + 0.1 * p  # now Q > 0 wherever P > 0
        gap = 0.5 * sum(pi * math.log(1 + qi / pi) for pi, qi in zip(p, q_overlap, strict=True) if pi > 0)
        gap += 0.5 * sum(qi * math.log(1 + pi / qi) for pi, qi in zip(p, q_overlap, strict=True) if qi > 0)
        assert js_divergence(p, q_overlap) == pytest.approx(math.log(2) - gap, rel=1e-12)
        assert js_divergence(p, q_overlap) < math.log(2) - 1e-3


def test_q4_covariance_term_dominates_the_bias_of_the_plug_in_fid():
    """Q4 Part 3: for two samples of size n from N(μ, I_D), E‖μ̂ − μ̂'‖² = 2D/n exactly, and the trace term's mean
    is ≈ D(D+1)/(2(n−1)) for n ≫ D (second-order expansion), (D+1)/4 times larger. Checked with asgn2.fid.fid,
    1000 repetitions, D = 4, n = 400 (standard error ~1.5%). Catches a Fréchet distance returned unsquared
    (W2 instead of W2², ~0.2 instead of 0.045) and a trace term without the factor 2 on tr (Σ1 Σ2)^{1/2}."""
    rng = np.random.default_rng(12)
    d, n, reps = 4, 400, 1000
    z = rng.normal(loc=1.5, size=(reps, 2, n, d))
    total = np.array([fid(z[r, 0], z[r, 1]) for r in range(reps)])
    mean_term = np.sum((z[:, 0].mean(1) - z[:, 1].mean(1)) ** 2, axis=1)
    covariance_term = total - mean_term
    assert mean_term.mean() == pytest.approx(2 * d / n, rel=0.1)
    assert covariance_term.mean() == pytest.approx(d * (d + 1) / (2 * (n - 1)), rel=0.06)
    assert total.mean() == pytest.approx(2 * d / n + d * (d + 1) / (2 * (n - 1)), rel=0.06)
    assert covariance_term.mean() > mean_term.mean()


# ----------------------------------------------------------------------------- the PDFs

# A grader sees only the PDFs: the answers must not point at this repository's code, tests, records or benchmarks.
# Matched case-insensitively, after TeX's escaped underscore "\\_" is read as "_".
REPOSITORY_REFERENCES = (
    "tests/",
    "test_",
    ".py",
    "asgn2",
    "benchmark",
    "numerical check",
    "this project",
    "the project's",
    "this repository",
)


def _repository_references(text: str) -> list[str]:
    text = text.replace("\\_", "_").lower()
    return [phrase for phrase in REPOSITORY_REFERENCES if phrase in text]


def test_written_answers_do_not_point_at_the_repository():
    """Every written source (q1.tex ... q4.tex and the shared preamble) stands alone. The generated
    figures/q3_divergences_values.tex only defines numbers (its comment names its generator) and is not read here;
    the compiled PDFs, figure included, are checked in test_written_pdfs_compile. Catches a "Numerical check"
    paragraph naming tests/test_written.py or asgn2.fid, and a remark quoting a benchmark of this repository."""
    assert _repository_references(r"\texttt{tests/test\_written.py} checks \texttt{asgn2.fid}") == [
        "tests/",
        "test_",
        ".py",
        "asgn2",
    ]
    sources = sorted(WRITTEN.glob("*.tex"))
    assert {p.name for p in sources} >= {"preamble.tex", "q1.tex", "q2.tex", "q3.tex", "q4.tex"}
    found = {p.name: _repository_references(p.read_text(encoding="utf-8")) for p in sources}
    assert not any(found.values()), {name: phrases for name, phrases in found.items() if phrases}


KEY_CONTENT = {
    "q1": ["Bayes", "Algorithm 1", "Algorithm 2", "pre-image", "complexity", "semi-supervised"],
    "q2": ["change of variables", "Jacobian", "empirical risk", "key change"],
    "q3": ["distribution", "symmetric", "0.3000", "if and only if", "Gibbs"],
    "q4": ["Inception-v3", "2048", "50,000", "10,000", "unbiased"],
}


@pytest.mark.skipif(
    (shutil.which("latexmk") is None or shutil.which("pdftotext") is None) and not os.environ.get("CI"),
    reason="latexmk / poppler not installed (CI installs them, see .ci/run, and never skips this test)",
)
def test_written_pdfs_compile(tmp_path):
    """`make -C written` in a copy of the folder: the Q3 figure from the package, then one PDF per question."""
    work = tmp_path / "written"
    shutil.copytree(WRITTEN, work, ignore=shutil.ignore_patterns("build", "figures"))
    result = subprocess.run(
        ["make", "-C", str(work), f"PY={sys.executable}"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name, phrases in KEY_CONTENT.items():
        pdf = work / "build" / f"{name}.pdf"
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        assert pages > 0
        text = " ".join(
            subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split()
        )
        for phrase in phrases:
            assert phrase in text, f"{name}.pdf lacks {phrase!r}"
        assert not _repository_references(text), f"{name}.pdf points at the repository: {_repository_references(text)}"
