"""KL and Jensen–Shannon divergences of discrete distributions, and the Bernoulli case of written Q3.

Conventions (as in the written answer):
  * 0 · log(0 / q) = 0 for every q ≥ 0 (the limit of t log t as t → 0);
  * p · log(p / 0) = +inf for p > 0, so D_KL(P‖Q) = +inf when Q misses part of P's support;
  * D_JS(P‖Q) = ½ D_KL(P‖M) + ½ D_KL(Q‖M) with M = (P + Q) / 2 is always finite and ≤ log 2.

The generic functions take numpy arrays or torch tensors; the distribution runs along `dim` and every other axis is
a batch axis. Results come back in the input's kind (torch in, torch out), natural log unless `base` is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

Array = np.ndarray | torch.Tensor

# Inputs must sum to 1 within this tolerance along `dim` (float32 probabilities carry ~1e-7 rounding per entry).
SUM_TOLERANCE = 1e-5


def _as_float64(p: Array, q: Array) -> tuple[Array, Array, bool]:
    """Both inputs as float64 of one kind (torch if either is a tensor); the flag says whether that kind is torch."""
    if isinstance(p, torch.Tensor) or isinstance(q, torch.Tensor):
        device = p.device if isinstance(p, torch.Tensor) else q.device
        return (
            torch.as_tensor(p, dtype=torch.float64, device=device),
            torch.as_tensor(q, dtype=torch.float64, device=device),
            True,
        )
    return np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64), False


def _check_distribution(p: Array, name: str, dim: int, tol: float) -> None:
    """Raise ValueError unless `p` is finite, non-negative and sums to 1 along `dim`."""
    lib = torch if isinstance(p, torch.Tensor) else np
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (the outcomes along dim={dim}), got a scalar")
    if not bool(lib.isfinite(p).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")
    if bool((p < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {float(p.min()):.3g}")
    sums = p.sum(dim) if lib is torch else p.sum(axis=dim)
    worst = float(abs(sums - 1).max())
    if worst > tol:
        raise ValueError(f"{name} must sum to 1 along dim={dim} (tolerance {tol:g}); off by up to {worst:.3g}")


def _checked(p: Array, q: Array, dim: int, tol: float) -> tuple[Array, Array, bool]:
    p, q, is_torch = _as_float64(p, q)
    try:
        np.broadcast_shapes(tuple(p.shape), tuple(q.shape))
    except ValueError:
        raise ValueError(f"p and q must have broadcastable shapes, got {tuple(p.shape)} and {tuple(q.shape)}") from None
    _check_distribution(p, "p", dim, tol)
    _check_distribution(q, "q", dim, tol)
    return p, q, is_torch


def _p_log_p_over_q(p: Array, q: Array) -> Array:
    """Elementwise p · log(p / q) with 0 · log(0 / q) = 0 and p · log(p / 0) = +inf (p > 0)."""
    if isinstance(p, torch.Tensor):
        # where() picks 0 for p = 0; the masked branch may hold NaN (0 · -inf) but it is never selected.
        return torch.where(p > 0, p * (torch.log(p) - torch.log(q)), torch.zeros_like(p))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)


def _finish(value: Array, is_torch: bool, base: float | None) -> Array:
    if base is not None:
        if base <= 0 or base == 1:
            raise ValueError(f"base must be positive and not 1, got {base}")
        value = value / math.log(base)
    return value if is_torch else np.asarray(value, dtype=np.float64)[()]


def kl_divergence(p: Array, q: Array, dim: int = -1, base: float | None = None, tol: float = SUM_TOLERANCE) -> Array:
    """D_KL(P‖Q) = Σ_x P(x) log(P(x) / Q(x)) along `dim`; shape: the broadcast shape of p, q without `dim`.

    +inf where Q(x) = 0 < P(x) for some x. Natural log by default, log base `base` otherwise (2: bits).
    """
    p, q, is_torch = _checked(p, q, dim, tol)
    terms = _p_log_p_over_q(p, q)
    return _finish(terms.sum(dim) if is_torch else terms.sum(axis=dim), is_torch, base)


def js_divergence(p: Array, q: Array, dim: int = -1, base: float | None = None, tol: float = SUM_TOLERANCE) -> Array:
    """D_JS(P‖Q) = ½ D_KL(P‖M) + ½ D_KL(Q‖M), M = (P + Q)/2, along `dim`. Finite, symmetric, in [0, log 2]."""
    p, q, is_torch = _checked(p, q, dim, tol)
    m = (p + q) / 2  # M(x) = 0 only where P(x) = Q(x) = 0, so neither KL below is infinite
    # ... in exact arithmetic: (5e-324 + 0) / 2 rounds to 0. Such a term is below p log 2 < 1e-323: drop it.
    kept = m > 0
    terms = 0.5 * _p_log_p_over_q(p * kept, m) + 0.5 * _p_log_p_over_q(q * kept, m)
    return _finish(terms.sum(dim) if is_torch else terms.sum(axis=dim), is_torch, base)


# ----------------------------------------------------------------------------- Bernoulli (written Q3)


def _check_probability(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if not np.all((x >= 0) & (x <= 1)):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{x.min():.3g}, {x.max():.3g}]")
    return x


def bernoulli_kl(theta: float | np.ndarray, q: float = 0.3) -> np.ndarray:
    """D_KL(Bern(θ)‖Bern(q)) = θ log(θ/q) + (1-θ) log((1-θ)/(1-q)), elementwise in θ (nats)."""
    theta, q = _check_probability(theta, "theta"), _check_probability(q, "q")
    return (_p_log_p_over_q(theta, q) + _p_log_p_over_q(1 - theta, 1 - q))[()]


def bernoulli_js(theta: float | np.ndarray, q: float = 0.3) -> np.ndarray:
    """D_JS(Bern(θ)‖Bern(q)), elementwise in θ (nats); the closed form of the written answer, with m = (θ+q)/2:

    ½[θ log(θ/m) + (1-θ) log((1-θ)/(1-m))] + ½[q log(q/m) + (1-q) log((1-q)/(1-m))].
    """
    theta, q = _check_probability(theta, "theta"), _check_probability(q, "q")
    m = (theta + q) / 2
    kl_pm = _p_log_p_over_q(theta, m) + _p_log_p_over_q(1 - theta, 1 - m)
    kl_qm = _p_log_p_over_q(q, m) + _p_log_p_over_q(1 - q, 1 - m)
    return (0.5 * kl_pm + 0.5 * kl_qm)[()]


def golden_section_minimize(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-10) -> float:
    """The minimiser of a unimodal f on [lo, hi] by golden-section search (no derivatives, no typed-in answer)."""
    inv_phi = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = f(d)
    return (a + b) / 2


def q3_minimizers(q: float = 0.3) -> dict[str, float]:
    """θ* of D_KL(Bern(θ)‖Bern(q)) and of D_JS(Bern(θ)‖Bern(q)) over θ ∈ (0, 1), found numerically."""
    return {
        "kl": golden_section_minimize(lambda t: float(bernoulli_kl(t, q)), 1e-12, 1 - 1e-12),
        "js": golden_section_minimize(lambda t: float(bernoulli_js(t, q)), 1e-12, 1 - 1e-12),
    }


def plot_q3(out: str | Path, q: float = 0.3, points: int = 999) -> dict[str, float]:
    """Figure of written Q3: KL and JS of Bern(θ) from Bern(q) against θ ∈ (0, 1), θ* marked. Returns θ*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    theta = np.linspace(0, 1, points + 2)[1:-1]  # the open interval (0, 1)
    minimizers = q3_minimizers(q)
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    ax.plot(theta, bernoulli_kl(theta, q), label=r"$D_{\mathrm{KL}}(P_\theta\,\|\,Q)$")
    ax.plot(theta, bernoulli_js(theta, q), label=r"$D_{\mathrm{JS}}(P_\theta\,\|\,Q)$")
    ax.axhline(math.log(2), color="0.6", lw=0.8, ls=":", label=r"$\log 2$ (bound on $D_{\mathrm{JS}}$)")
    for name, marker in (("kl", "o"), ("js", "s")):
        t = minimizers[name]
        value = bernoulli_kl(t, q) if name == "kl" else bernoulli_js(t, q)
        ax.plot([t], [value], marker, color="k", mfc="none", ms=8 if name == "kl" else 5)
    ax.axvline(minimizers["kl"], color="k", lw=0.6, ls="--")
    ax.annotate(
        rf"$\theta^* = {minimizers['kl']:.4f}$ (KL), ${minimizers['js']:.4f}$ (JS)",
        xy=(minimizers["kl"], 0.0),
        xytext=(minimizers["kl"] + 0.08, 0.55),
        arrowprops={"arrowstyle": "->", "lw": 0.6},
    )
    ax.set_xlabel(r"$\theta = P(x = 1)$")
    ax.set_ylabel("divergence (nats)")
    ax.set_title(rf"Bernoulli $P_\theta$ against $Q = \mathrm{{Bern}}({q})$")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper center", frameon=False)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return minimizers


def _latex_power_of_ten(value: float) -> str:
    """7.3e-09 -> '7\\times 10^{-9}' (math mode), one significant digit."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}\\times 10^{{{int(exponent)}}}"


def write_q3_values(path: str | Path, minimizers: dict[str, float], q: float = 0.3) -> None:
    """LaTeX macros with the numerically found θ* and the endpoint values, \\input by written/q3.tex."""
    gap = max(abs(minimizers["kl"] - q), abs(minimizers["js"] - q), 1e-16)
    lines = [
        f"\\newcommand{{\\ThetaStarKL}}{{{minimizers['kl']:.6f}}}",
        f"\\newcommand{{\\ThetaStarJS}}{{{minimizers['js']:.6f}}}",
        f"\\newcommand{{\\ThetaStarGap}}{{{_latex_power_of_ten(gap)}}}",
        f"\\newcommand{{\\KLatZero}}{{{float(bernoulli_kl(0.0, q)):.4f}}}",
        f"\\newcommand{{\\KLatOne}}{{{float(bernoulli_kl(1.0, q)):.4f}}}",
        f"\\newcommand{{\\JSatZero}}{{{float(bernoulli_js(0.0, q)):.4f}}}",
        f"\\newcommand{{\\JSatOne}}{{{float(bernoulli_js(1.0, q)):.4f}}}",
    ]
    Path(path).write_text("% generated by `python -m asgn2 plot-q3`; do not edit\n" + "\n".join(lines) + "\n")


def make_q3_figure(out: str | Path, q: float = 0.3) -> tuple[dict[str, float], Path]:
    """The figure of written Q3 at `out` and, beside it, `<stem>_values.tex` (what q3.tex quotes); returns θ* and
    the path of the values file."""
    minimizers = plot_q3(out, q)
    values = Path(out).with_name(Path(out).stem + "_values.tex")
    write_q3_values(values, minimizers, q)
    return minimizers, values
