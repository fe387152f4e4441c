"""Mutation testing: does the suite catch realistic bugs in the code behind the reported numbers?

    .venv/bin/python tests/mutants.py                  # every mutant, one at a time (about 8 minutes on 2 cores)
    .venv/bin/python tests/mutants.py units-ln2 ...    # only these mutants
    .venv/bin/python tests/mutants.py --list           # the mutants and the tests each one runs

Each mutant is one realistic bug: an exact snippet of a file under asgn2/ replaced by a wrong one. The script copies
asgn2/, tests/ and pyproject.toml into a temporary folder, applies ONE mutant there (the working tree is never
touched), runs that mutant's short list of tests with the copy first on PYTHONPATH, stops at the first failure, and
prints a table: mutant, file, the test that caught it, or SURVIVED. A snippet that is not found exactly once in the
current source stops the script before anything runs, so the list has to follow the code.

Not collected by pytest (the name does not start with test_). Needs the same environment as the tests:
ASGN2_DATA pointing at MNIST; ASGN2_OFFLINE=1 and ASGN2_PROGRESS=0 are set here if unset.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # pytest arguments (files or node ids, relative to the repository root)
    what: str  # the bug, in words


M = Mutant
T = "tests/"
MUTANTS = [
    # --------------------------------------------------------------------------------------------- units
    M(
        "units-ln2",
        "asgn2/units.py",
        "return nll_nats / (dims * math.log(2))",
        "return nll_nats * math.log(2) / dims",
        (
            T + "test_metrics.py",
            T + "test_cli.py::test_pixelcnn_command_reports_nats_per_image_and_bits_per_dim",
            T + "test_flows.py",
        ),
        "bits per dimension multiplied by ln 2 instead of divided",
    ),
    M(
        "nll-per-pixel",
        "asgn2/pixelcnn.py",
        "return nll_per_image(model, binary_images, batch_size).double().mean().item()",
        "return nll_per_image(model, binary_images, batch_size).double().sum().item() / binary_images.numel()",
        (
            T + "test_metrics.py",
            T + "test_cli.py::test_pixelcnn_command_reports_nats_per_image_and_bits_per_dim",
            T + "test_pixelcnn.py",
        ),
        "PixelCNN test NLL in nats per pixel, reported as per image",
    ),
    M(
        "loss-no-dequantization",
        "asgn2/realnvp.py",
        "v = dequantize(images).to(next(model.parameters()).dtype)",
        "v = images.to(next(model.parameters()).dtype)",
        (T + "test_metrics.py", T + "test_randomness.py"),
        "Real NVP trained on the integer pixels, without dequantization noise",
    ),
    # ------------------------------------------------------------------------------------------ intervals
    M(
        "proportion-sqrt-n",
        "asgn2/intervals.py",
        "1.96 * math.sqrt(fraction * (1 - fraction) / n)",
        "1.96 * math.sqrt(fraction * (1 - fraction)) / n",
        (T + "test_metrics.py",),
        "the interval of a proportion divided by n instead of sqrt(n)",
    ),
    M(
        "proportion-formula",
        "asgn2/intervals.py",
        "1.96 * math.sqrt(fraction * (1 - fraction) / n)",
        "1.96 * math.sqrt(fraction / n)",
        (T + "test_metrics.py",),
        "the variance of a proportion taken as p / n (the 1 - p forgotten)",
    ),
    M(
        "mean-interval-n-1",
        "asgn2/intervals.py",
        "1.96 * values.std().item() / math.sqrt(values.numel())",
        "1.96 * values.std(correction=0).item() / math.sqrt(values.numel())",
        (T + "test_metrics.py", T + "test_inpainting_eval.py"),
        "the interval of a mean from the biased (1/n) standard deviation",
    ),
    M(
        "mean-interval-sqrt-n",
        "asgn2/intervals.py",
        "1.96 * values.std().item() / math.sqrt(values.numel())",
        "1.96 * values.std().item() / values.numel()",
        (T + "test_metrics.py", T + "test_inpainting_eval.py"),
        "the interval of a mean divided by n instead of sqrt(n)",
    ),
    M(
        "mean-interval-90",
        "asgn2/intervals.py",
        "1.96 * values.std().item() / math.sqrt(values.numel())",
        "1.645 * values.std().item() / math.sqrt(values.numel())",
        (T + "test_metrics.py", T + "test_inpainting_eval.py"),
        "a 90% interval printed as the 95% one",
    ),
    M(
        "confident-threshold",
        "asgn2/classifier.py",
        "return (confidence(model, images) >= threshold).float().mean().item()",
        "return (confidence(model, images) > threshold).float().mean().item()",
        (T + "test_metrics.py", T + "test_classifier.py"),
        "'labelled with probability at least 0.9' counted as 'more than 0.9'",
    ),
    M(
        "fid-all-real-images",
        "asgn2/realnvp_eval.py",
        "lambda t, g: (sample(model, n, t, g), None), judge, real_images[:n], temperatures, seed, confident",
        "lambda t, g: (sample(model, n, t, g), None), judge, real_images, temperatures, seed, confident",
        (T + "test_metrics.py",),
        "the FID of n samples measured against every real image instead of n (FID depends on n)",
    ),
    M(
        "temperature-variance",
        "asgn2/flows.py",
        "return temperature * torch.randn(n, self.dim, generator=generator, dtype=self._zero.dtype)",
        "return temperature**2 * torch.randn(n, self.dim, generator=generator, dtype=self._zero.dtype)",
        (T + "test_metrics.py", T + "test_flows.py"),
        "the temperature used as the latent's variance instead of its standard deviation",
    ),
    M(
        "eval-seed-ignored",
        "asgn2/realnvp.py",
        'noise = stream("eval-dequantization", seed)',
        'noise = stream("eval-dequantization", 0)',
        (T + "test_metrics.py", T + "test_randomness.py"),
        "every evaluation seed of the Real NVP figure dequantizes with the noise of seed 0",
    ),
    M(
        "quality-same-latents",
        "asgn2/realnvp_eval.py",
        'images, labels = draw(t, stream("sampling", seed + round(100 * t)))',
        'images, labels = draw(t, stream("sampling", seed))',
        (T + "test_metrics.py", T + "test_flows.py"),
        "every temperature's FID and confident fraction from the same latents",
    ),
    M(
        "temperature-grid-fixed",
        "asgn2/realnvp_eval.py",
        '        rows.update({r["temperature"]: r for r in rows_at([new])})',
        "        return best, [rows[t] for t in sorted(rows)]",
        (T + "test_metrics.py",),
        "the temperature chosen at the edge of its grid: the grid stops before the score turns",
    ),
    M(
        "cli-inpaint-arguments",
        "asgn2/cli.py",
        "inpaint_cmd(ctx, args.holes, args.n, args.samples, args.candidates, args.seed, args.out)",
        "inpaint_cmd(ctx, args.holes, args.n, args.candidates, args.samples, args.seed, args.out)",
        (T + "test_cli.py",),
        "the command line's --samples and --candidates swapped on their way to the figure",
    ),
    # --------------------------------------------------------------------------------- masks and log-dets
    M(
        "mask-centre",
        "asgn2/pixelcnn.py",
        'mask[:, :, centre, centre + (mask_type == "B") :] = 0',
        'mask[:, :, centre, centre + (mask_type == "A") :] = 0',
        (T + "test_pixelcnn.py",),
        "mask A shows the centre pixel and mask B hides it",
    ),
    M(
        "coupling-sign",
        "asgn2/realnvp.py",
        "return z, s.sum(1)",
        "return z, -s.sum(1)",
        (T + "test_flows.py",),
        "the coupling's forward log-det with the inverse's sign",
    ),
    M(
        "logit-lam-term",
        "asgn2/flows.py",
        "log_det = (math.log(1 - 2 * self.lam) - torch.log(s) - torch.log1p(-s)).sum(1)",
        "log_det = (-torch.log(s) - torch.log1p(-s)).sum(1)",
        (T + "test_flows.py",),
        "Logit's log-det without the log(1 - 2 lam) of the squeeze",
    ),
    M(
        "base-no-2pi",
        "asgn2/flows.py",
        "return -0.5 * (z**2).sum(1) - 0.5 * self.dim * math.log(2 * math.pi)",
        "return -0.5 * (z**2).sum(1)",
        (T + "test_flows.py", T + "test_metrics.py"),
        "StandardNormal.log_prob without the -D/2 log(2 pi) normaliser: not a density",
    ),
    M(
        "flow-no-log-det",
        "asgn2/flows.py",
        "return self.base.log_prob(z) + log_det",
        "return self.base.log_prob(z)",
        (T + "test_flows.py", T + "test_metrics.py"),
        "Flow.log_prob without the transform's log|det df/dx| (the change of variables forgotten)",
    ),
    M(
        "to-images-round",
        "asgn2/realnvp.py",
        ".clamp(0, 256 - 1e-3).floor().to(torch.uint8)",
        ".clamp(0, 256 - 1e-3).round().to(torch.uint8)",
        (T + "test_flows.py", T + "test_metrics.py", T + "test_generation.py"),
        "a sample's pixels rounded instead of floored: v in [x, x + 1) read as x + 1 above x + 0.5 (255.5+ wraps to 0)",
    ),
    # ------------------------------------------------------------------------------------------------ FID
    M(
        "fid-no-sqrt",
        "asgn2/fid.py",
        "return float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())",
        "return float(np.clip(eigenvalues, 0, None).sum())",
        (T + "test_fid.py",),
        "tr (S1 S2)^(1/2) without the square root",
    ),
    M(
        "fid-transpose",
        "asgn2/fid.py",
        "return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T",
        "return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors",
        (T + "test_fid.py",),
        "the matrix square root without its transpose",
    ),
    M(
        "fid-covariance-n",
        "asgn2/fid.py",
        "return self._scatter / (self.n - 1)",
        "return self._scatter / self.n",
        (T + "test_fid.py",),
        "the biased 1/n covariance",
    ),
    # ------------------------------------------------------------------------------------------ divergences
    M(
        "kl-argument-order",
        "asgn2/divergences.py",
        "terms = _p_log_p_over_q(p, q)",
        "terms = _p_log_p_over_q(q, p)",
        (T + "test_divergences.py",),
        "D_KL(Q||P) computed for D_KL(P||Q)",
    ),
    M(
        "js-half",
        "asgn2/divergences.py",
        "terms = 0.5 * _p_log_p_over_q(p * kept, m) + 0.5 * _p_log_p_over_q(q * kept, m)",
        "terms = _p_log_p_over_q(p * kept, m) + _p_log_p_over_q(q * kept, m)",
        (T + "test_divergences.py",),
        "JS without its 1/2: the sum of the two KLs to the mixture",
    ),
    # --------------------------------------------------------------- raster sampling and inpainting, by definition
    M(
        "inpaint-uniform-direction",
        "asgn2/pixelcnn.py",
        "draw = (u[:, 0, r, c] < p).to(x.dtype)",
        "draw = (u[:, 0, r, c] > p).to(x.dtype)",
        (T + "test_pixelcnn.py", T + "test_inpainting.py", T + "test_sampler_scale.py"),
        "pixelcnn.inpaint (the definition) draws a 1 with probability 1 - p",
    ),
    M(
        "inpaint-redraws-observed",
        "asgn2/pixelcnn.py",
        "x[:, 0, r, c] = torch.where(hole[:, 0, r, c], draw, x[:, 0, r, c])",
        "x[:, 0, r, c] = draw",
        (T + "test_pixelcnn.py", T + "test_inpainting.py", T + "test_sampler_scale.py"),
        "pixelcnn.inpaint redraws observed pixels where another image of the batch has a hole",
    ),
    M(
        "loss-fixed-binarization",
        "asgn2/pixelcnn.py",
        "x = fresh_binarization(images)",
        "x = eval_binarization(images)",
        (T + "test_randomness.py", T + "test_pixelcnn.py"),
        "the plain PixelCNN trained on one fixed binarization (the evaluation stream's), not a fresh one per visit",
    ),
    # ----------------------------------------------------------------------------------------- the sampler
    M(
        "sampler-uniform-direction",
        "asgn2/sampler.py",
        "draw = (u[:, 0, r, c] < torch.sigmoid(logit)).to(x.dtype)",
        "draw = (u[:, 0, r, c] > torch.sigmoid(logit)).to(x.dtype)",
        (T + "test_sampler_scale.py", T + "test_inpainting.py"),
        "the cached sampler draws a 1 with probability 1 - p",
    ),
    M(
        "sampler-prefix-start",
        "asgn2/sampler.py",
        "visit = range(int(where[0]) // width * width, height * width if score else int(where[-1]) + 1)",
        "visit = range(int(where[0]), height * width if score else int(where[-1]) + 1)",
        (T + "test_sampler_scale.py", T + "test_inpainting.py"),
        "the cached sampler starts at the first hole pixel, not at the start of its row",
    ),
    M(
        "sampler-prefix-score",
        "asgn2/sampler.py",
        "x, log_observed = x.clone(), cache.prefix_log_prob",
        "x, log_observed = x.clone(), x.new_zeros(x.shape[0])",
        (T + "test_inpainting.py", T + "test_sampler_scale.py"),
        "sir's weights leave out the observed rows above the first hole",
    ),
    M(
        "sampler-large-batch-rows",
        "asgn2/sampler.py",
        "for i in range(1, kh):",
        "for i in range(1, kh - 1):",
        (T + "test_sampler_scale.py", T + "test_inpainting.py"),
        "the cached sampler's path for >= 256 rows leaves out the kernel's last (centre) row",
    ),
    M(
        "sampler-labels-dropped",
        "asgn2/sampler.py",
        "cache = _ActivationCache(model, x[distinct], condition, visit.start // width, shared, labels)",
        "cache = _ActivationCache(model, x[distinct], condition, visit.start // width, shared)",
        (T + "test_inpainting.py", T + "test_sampler_scale.py", T + "test_generation.py"),
        "the cached sampler ignores the digits it is told",
    ),
    # ---------------------------------------------------------------------------- the inpainting evaluation
    M(
        "eval-raster-uses-K",
        "asgn2/inpainting_eval.py",
        'add("raster", drawn.candidates[:, : spec.samples], seconds',
        'add("raster", drawn.candidates, seconds',
        (T + "test_inpainting_eval.py",),
        "raster scored on all K candidates instead of its S completions",
    ),
    M(
        "eval-agree-best-of-S",
        "asgn2/inpainting_eval.py",
        '"agree": (predicted == labels[:, None]).float().mean(1),',
        '"agree": (predicted == labels[:, None]).float().amax(1),',
        (T + "test_inpainting_eval.py", T + "test_inpainting.py"),
        "agreement counts a digit as right if any completion is",
    ),
    M(
        "eval-pixels-all",
        "asgn2/inpainting_eval.py",
        '"pixels": same.float().sum(2).mean(1) / hole.sum(1).clamp_min(1),',
        '"pixels": same.float().mean(2).mean(1),',
        (T + "test_inpainting_eval.py", T + "test_inpainting.py"),
        "the fraction of right hole pixels divided by all pixels",
    ),
    M(
        "eval-noise-floor",
        "asgn2/inpainting_eval.py",
        "entropy = -(torch.special.xlogy(v, v) + torch.special.xlogy(1 - v, 1 - v))",
        "entropy = -(torch.special.xlogy(v, v) + torch.special.xlogy(1 - v, v))",
        (T + "test_inpainting_eval.py",),
        "the Bernoulli entropy's second term with the wrong argument",
    ),
    # -------------------------------------------------------------------------------- the label mixture
    M(
        "mixture-sum-of-logs",
        "asgn2/conditional.py",
        "return torch.logsumexp(model.class_log_posterior(x, known) + told_log_probs(model, x, known), dim=1)",
        "return (model.class_log_posterior(x, known).exp() * told_log_probs(model, x, known)).sum(1)",
        (T + "test_pixelcnn.py", T + "test_inpainting_eval.py"),
        "the mixture's log-likelihood as the r-weighted mean of the components' log-likelihoods",
    ),
    M(
        "posterior-unnormalised",
        "asgn2/conditional.py",
        "return self.condition.recognise(x, known).log_softmax(1)",
        "return self.condition.recognise(x, known)",
        (T + "test_pixelcnn.py", T + "test_inpainting.py"),
        "the recogniser's logits used as log-probabilities",
    ),
    # ------------------------------------------------------------------ generation through the told digit
    M(
        "digit-map-unused",
        "asgn2/conditional.py",
        'h = h + torch.einsum("nk,kchw->nchw", digit.to(h.dtype), self.digit_map.to(h.dtype))',
        "h = h + 0 * self.digit_map.sum()",
        (T + "test_generation.py",),
        "the per-digit map built but never added: the digit only as a bias the same at every position",
    ),
    M(
        "label-prior-ignored",
        "asgn2/conditional.py",
        "return torch.logsumexp(label_prior.log().to(x) + told_log_probs(model, x, nothing), dim=1)",
        "return torch.logsumexp(told_log_probs(model, x, nothing), dim=1) - 2.302585",
        (T + "test_generation.py",),
        "the label mixture weighting every digit 1/10 instead of by the label frequencies",
    ),
    M(
        "told-sample-other-labels",
        "asgn2/sampler.py",
        "return sample_told(model, labels, generator=generator), labels",
        "return sample_told(model, labels.flip(0), generator=generator), labels",
        (T + "test_generation.py",),
        "label-mixture samples told other digits than the ones returned with them",
    ),
    M(
        "base-no-log-scale",
        "asgn2/digit_base.py",
        "return -0.5 * (u**2).sum(2) - self.log_scales.sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)",
        "return -0.5 * (u**2).sum(2) - 0.5 * z.shape[1] * math.log(2 * math.pi)",
        (T + "test_generation.py",),
        "the Gaussian components' normalising constant without the log-scales: not a density",
    ),
    M(
        "base-sample-other-component",
        "asgn2/digit_base.py",
        "return self.means[k] + temperature * torch.exp(self.log_scales[k]) * eps",
        "return self.means[k.flip(0)] + temperature * torch.exp(self.log_scales[k]) * eps",
        (T + "test_generation.py",),
        "a sample told digit y drawn around another digit's mean",
    ),
    M(
        "base-fit-unbiased",
        "asgn2/digit_base.py",
        "variances = (squares / counts - means**2).clamp_min(1e-6)",
        "variances = (squares / (counts - 1) - means**2).clamp_min(1e-6)",
        (T + "test_generation.py",),
        "the fitted base's variance not the maximum-likelihood one",
    ),
    # ------------------------------------------------------------------------ checkpoints and randomness
    M(
        "spec-nested-keys",
        "asgn2/checkpoints.py",
        'out += spec_differences(a, b, f"{prefix}{key}.")',
        "pass",
        (T + "test_training.py",),
        "spec_differences ignores every nested key (the training run, the model)",
    ),
    M(
        "eval-binarization-stream",
        "asgn2/data.py",
        'return binarize(images, stream("eval-binarization", seed))',
        'return binarize(images, stream("train", seed))',
        (T + "test_randomness.py",),
        "the evaluation binarization drawn from the training stream",
    ),
    M(
        "eval-dequantization-stream",
        "asgn2/realnvp.py",
        'noise = stream("eval-dequantization", seed)',
        'noise = stream("train", seed)',
        (T + "test_randomness.py", T + "test_metrics.py"),
        "the evaluation dequantization drawn from the training stream",
    ),
    M(
        "resume-wall-clock",
        "asgn2/training.py",
        "history.wall_time_s += clock() - started",
        "history.wall_time_s = clock() - started",
        (T + "test_training.py", T + "test_entry_points.py"),
        "a resumed run forgets the training time before the interruption (a time budget restarts)",
    ),
    M(
        "init-from-global-rng",
        "asgn2/pixelcnn.py",
        'with seeded("init", spec.train.seed):',
        "if True:",
        (T + "test_runs.py",),
        "initial weights drawn from the global RNG at call time: a spec does not make its model",
    ),
    M(
        "prepare-on-load",
        "asgn2/runs.py",
        "    def fit() -> History:\n        if prepare is not None:\n            prepare()",
        "    if prepare is not None:\n        prepare()\n\n    def fit() -> History:",
        (T + "test_runs.py",),
        "loading a finished conditional model trains its recogniser and plain PixelCNN first",
    ),
    M(
        "budget-counts-evaluation",
        "asgn2/training.py",
        "    history.eval_time_s += clock() - started",
        "    history.eval_time_s += clock() - started\n    history.wall_time_s += clock() - started",
        (T + "test_training.py",),
        "the time budget counts evaluations: eval_every changes the trained model",
    ),
    # ----------------------------------------------------------------------------------------- hole masks
    M(
        "holes-centre",
        "asgn2/holes.py",
        "(rows >= H // 4) & (rows < 3 * H // 4)",
        "(rows >= H // 4) & (rows <= 3 * H // 4)",
        (T + "test_holes.py",),
        "the centre square one row too tall",
    ),
    M(
        "holes-ring-centre",
        "asgn2/holes.py",
        "((rows - 13.5) ** 2 + (cols - 13.5) ** 2 - 7.0**2)",
        "((rows - 14) ** 2 + (cols - 14) ** 2 - 7.0**2)",
        (T + "test_holes.py",),
        "the ring centred on pixel (14, 14) instead of the image's centre",
    ),
    M(
        "holes-p-all-ignored",
        "asgn2/conditional.py",
        "known = training_holes(x.shape[0], p_all=p_all_holes).to(x.device)",
        "known = training_holes(x.shape[0]).to(x.device)",
        (T + "test_holes.py", T + "test_pixelcnn.py"),
        "the conditional PixelCNN's p_all_holes option not applied (training_holes' default 0.5 instead)",
    ),
    M(
        "holes-recogniser-all",
        "asgn2/recogniser.py",
        "known = training_holes(x.shape[0], p_all=0.0).to(x.device)",
        "known = training_holes(x.shape[0]).to(x.device)",
        (T + "test_holes.py", T + "test_recogniser.py"),
        "the recogniser trained on digits with every pixel hidden (half of them)",
    ),
    # ----------------------------------------------------------------------------------------------- bf16
    M(
        "bf16-not-applied",
        "asgn2/runs.py",
        "in_precision(loss_fn),",
        "loss_fn,",
        (
            T + "test_entry_points.py::test_train_conditional_runs_its_forward_passes_in_bf16_where_asked",
            T + "test_runs.py",
            T + "test_pixelcnn.py",
        ),
        "train_or_load never enters bf16 autocast (the profiles' bf16=True has no effect on any training run)",
    ),
]


def check_snippets(mutants: list[Mutant]) -> None:
    """Stop unless every mutant's snippet occurs exactly once in its file (the list follows the code)."""
    problems = []
    for m in mutants:
        path = ROOT / m.file
        count = path.read_text().count(m.old) if path.is_file() else -1
        if count != 1:
            problems.append(f"{m.name}: {m.file} {'is missing' if count < 0 else f'holds the snippet {count} times'}")
    if len({m.name for m in mutants}) != len(mutants):
        problems.append("two mutants share a name")
    if problems:
        sys.exit("mutants out of step with the source:\n  " + "\n  ".join(problems))


def copy_repository(into: Path, tests: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "asgn2", into / "asgn2", ignore=ignore)
    shutil.copytree(tests, into / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")  # no stale bytecode between mutants
    env.setdefault("ASGN2_OFFLINE", "1")
    env.setdefault("ASGN2_PROGRESS", "0")
    return env


def check_copy_is_imported(copy: Path) -> None:
    """The tests must import the mutated copy, not the installed (editable) package."""
    out = subprocess.run(
        [sys.executable, "-c", "import asgn2; print(asgn2.__file__)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"the tests would import {out}, not the copy in {copy}")


def run_mutant(m: Mutant, copy: Path, timeout: float) -> tuple[str, float]:
    """Apply m in the copy, run its tests, restore the file; returns (result, seconds)."""
    tests = [t for t in m.tests if (copy / t.split("::")[0]).is_file()]
    if not tests:
        return "NO TESTS (none of its test files exists yet)", 0.0
    path = copy / m.file
    original = path.read_text()
    path.write_text(original.replace(m.old, m.new))
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=-rf", *tests],
            cwd=copy,
            env=environment(copy),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"caught? TIMEOUT after {timeout:.0f} s", time.perf_counter() - start
    finally:
        path.write_text(original)
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return "SURVIVED", seconds
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, flags=re.MULTILINE)
    if proc.returncode == 1 and failed:
        return f"caught by {failed[0].removeprefix('tests/')}", seconds
    tail = " ".join(proc.stdout.strip().splitlines()[-1:])
    return f"caught? pytest exit {proc.returncode}: {tail[:80]}", seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and their tests, run nothing")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant")
    parser.add_argument(
        "--tests-from",
        type=Path,
        default=ROOT / "tests",
        help="run the test files of this folder instead (say, an older tests/ for a 'before' table)",
    )
    args = parser.parse_args()
    check_snippets(MUTANTS)
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        sys.exit(f"unknown mutants: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    if args.list:
        for m in chosen:
            print(f"{m.name:28} {m.file:26} {m.what}\n{'':28} tests: {' '.join(m.tests)}")
        return
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="asgn2-mutants-") as tmp:
        copy = Path(tmp)
        copy_repository(copy, args.tests_from)
        check_copy_is_imported(copy)
        for m in chosen:
            result, seconds = run_mutant(m, copy, args.timeout)
            rows.append((m, result, seconds))
            print(f"{m.name:28} {m.file:26} {result} ({seconds:.0f} s)", flush=True)
    caught = sum(r.startswith("caught") for _, r, _ in rows)
    print("\n| mutant | file | bug | result |\n|---|---|---|---|")
    for m, result, seconds in rows:
        print(f"| {m.name} | {m.file} | {m.what} | {result} ({seconds:.0f} s) |")
    survivors = [m.name for m, r, _ in rows if not r.startswith("caught")]
    missed = ", ".join(survivors) or "none"
    print(f"\n{caught}/{len(rows)} caught in {time.perf_counter() - start:.0f} s; not caught: {missed}")
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
