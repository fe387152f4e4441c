"""How many samples does an FID need, and what is its floor? Record `fid-vs-n`.

    python benchmarks/bench_fid.py [--profile default] [--repeats 5] [--out results/fid]

On MNIST-classifier features: the real-data floor FID(test, train), FID(n test, n train) and FID(n test, all train)
against the sample size n (the small-sample bias that makes FIDs of different n incomparable: the profiles fix n per
table), and the eigenvalue-based Fréchet distance against scipy's general `sqrtm` (same value, no imaginary parts).
Uses the cached classifier of the profile (`train_classifier`, trained on first use, ~1 to 3 min on a CPU). Writes
results/fid/fid_vs_n.png and fid_vs_n.csv (git-ignored), prints the tables and writes the record.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from records import write_record

from asgn2.classifier import extract_features, train_classifier
from asgn2.data import load_mnist
from asgn2.fid import fid, frechet_distance, gaussian_statistics
from asgn2.profiles import PROFILES

SIZES = (50, 100, 200, 500, 1000, 2000, 5000, 10000)


def fid_against_n(test: np.ndarray, train: np.ndarray, repeats: int, seed: int = 0) -> list[dict[str, float]]:
    """For each n: FID(n test features, n train features) and FID(n test features, all train features), median and
    spread over `repeats` random subsets. The population value of both is the full-data floor."""
    rng = np.random.default_rng(seed)
    train_stats = gaussian_statistics(train)
    rows = []
    for n in SIZES:
        if n > len(test):
            break
        both, one = [], []
        for _ in range(repeats):
            a = test[rng.choice(len(test), n, replace=False)]
            b = train[rng.choice(len(train), n, replace=False)]
            both.append(fid(a, b))
            one.append(frechet_distance(*gaussian_statistics(a), *train_stats))
        rows.append(
            {
                "n": n,
                "fid_n_vs_n_median": statistics.median(both),
                "fid_n_vs_n_min": min(both),
                "fid_n_vs_n_max": max(both),
                "fid_n_vs_all_median": statistics.median(one),
                "fid_n_vs_all_min": min(one),
                "fid_n_vs_all_max": max(one),
            }
        )
    return rows


def compare_with_sqrtm(features: np.ndarray, repeats: int = 5) -> dict[str, float]:
    """`frechet_distance` against the scipy `sqrtm` formula on the statistics of two halves of `features`: both
    values, the largest imaginary part sqrtm produced, and median seconds of each."""
    import scipy.linalg

    half = len(features) // 2
    mu1, s1 = gaussian_statistics(features[:half])
    mu2, s2 = gaussian_statistics(features[half:])

    def reference() -> float:
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm warns that the product is singular: the point of the comparison
        imag = float(np.abs(scipy.linalg.sqrtm(s1 @ s2).imag).max())
        values = {"eigh": frechet_distance(mu1, s1, mu2, s2), "sqrtm": reference(), "sqrtm_max_imag": imag}

    times: dict[str, list[float]] = {"eigh": [], "sqrtm": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            for name, fn in (("eigh", lambda: frechet_distance(mu1, s1, mu2, s2)), ("sqrtm", reference)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {**values, **{f"seconds_{k}": statistics.median(v) for k, v in times.items()}}


def plot(rows: list[dict[str, float]], floor: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for key, label in (("fid_n_vs_n", "FID(n test, n train)"), ("fid_n_vs_all", "FID(n test, all 60k train)")):
        med = [r[f"{key}_median"] for r in rows]
        lo, hi = [r[f"{key}_min"] for r in rows], [r[f"{key}_max"] for r in rows]
        ax.plot(n, med, marker="o", label=label)
        ax.fill_between(n, lo, hi, alpha=0.2)
    ax.axhline(floor, color="k", ls="--", lw=0.8, label=f"FID(10k test, 60k train) = {floor:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sample size n")
    ax.set_ylabel("FID (MNIST-classifier features)")
    ax.set_title("Small-sample bias of the FID: real vs real MNIST")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="results/fid")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    model, _ = train_classifier(PROFILES[args.profile].classifier, load_mnist("train"), load_mnist("test"))
    with torch.no_grad():
        train = extract_features(model, load_mnist("train")[0]).double().numpy()
        test = extract_features(model, load_mnist("test")[0]).double().numpy()
    print(
        f"features: train {train.shape}, test {test.shape}, {time.perf_counter() - start:.1f} s "
        f"(classifier '{args.profile}', loaded or trained)"
    )

    lines: list[str] = []

    def emit(line: str = "") -> None:
        print(line)
        lines.append(line)

    floor = fid(test, train)
    half = fid(train[:30000], train[30000:])
    emit("| real-data reference | FID |\n|---|---|")
    emit(f"| FID(test 10k, train 60k) | {floor:.3f} |")
    emit(f"| FID(train first 30k, train last 30k) | {half:.3f} |")

    rows = fid_against_n(test, train, args.repeats)
    emit(f"\n| n | FID(n test, n train), median of {args.repeats} [min, max] | FID(n test, 60k train) |")
    emit("|---|---|---|")
    for r in rows:
        emit(
            f"| {r['n']} | {r['fid_n_vs_n_median']:.2f} [{r['fid_n_vs_n_min']:.2f}, {r['fid_n_vs_n_max']:.2f}] "
            f"| {r['fid_n_vs_all_median']:.2f} [{r['fid_n_vs_all_min']:.2f}, {r['fid_n_vs_all_max']:.2f}] |"
        )
    with open(out / "fid_vs_n.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, floor, out / "fid_vs_n.png")

    dead = int((train.std(axis=0) == 0).sum())
    emit(
        f"\nFréchet distance against the scipy sqrtm formula; D = {train.shape[1]}, {dead} features constant on all "
        "of train (each makes both covariances singular)\n"
    )
    emit("| sets | eigh-based | sqrtm formula | max abs imag. part of sqrtm | ms eigh / sqrtm (median of 5) |")
    emit("|---|---|---|---|---|")
    sqrtm = {}
    for label, subset in (("train halves, 30k vs 30k", train), ("train[:100] vs train[100:200] (n < D)", train[:200])):
        sqrtm[label] = c = compare_with_sqrtm(subset)
        emit(
            f"| {label} | {c['eigh']:.6f} | {c['sqrtm']:.6f} | {c['sqrtm_max_imag']:.2e} "
            f"| {1e3 * c['seconds_eigh']:.1f} / {1e3 * c['seconds_sqrtm']:.1f} |"
        )
    print(f"\nwrote {out / 'fid_vs_n.png'} and {out / 'fid_vs_n.csv'}; total {time.perf_counter() - start:.1f} s")
    write_record(
        "fid-vs-n",
        question="How large is the FID's real-data floor, and how does its small-sample bias fall with n? Why FIDs "
        "are compared only at one n (the profiles' `fid_samples`), and why the eigenvalue-based Fréchet distance.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers={"floor_test_train": floor, "train_halves": half, "by_n": rows, "sqrtm": sqrtm},
    )


if __name__ == "__main__":
    main()
