# %% [markdown] tags=["setup"]
# # Assignment 2: Explicit Methods for Generation, programming questions
#
# *ECE1508 Deep Generative Models.* The code lives in the package `asgn2` beside this notebook, which calls it and
# prints the package's own source at each `# COMPLETE` part of the starter notebook. Models train on the first run and
# are saved under `checkpoints/`; a rerun only evaluates. Every number in the text comes from this run's outputs.

# %% tags=["setup", "hide-input"]
import time  # noqa: I001  (the asgn2 imports on two lines, not fourteen)

import matplotlib.pyplot as plt
import torch

import asgn2
from asgn2 import classifier, conditional, data, digit_base, discussion, fid, flows, holes, inpainting
from asgn2 import inpainting_eval, pixelcnn, randomness, realnvp, realnvp_eval, sample_scores, sampler, training
from asgn2.display import plot_history, show_grid, show_source
from asgn2.intervals import mean_and_interval
from asgn2.units import bits_per_dim
from asgn2.profiles import get_profile
from asgn2 import report
from asgn2.report import record, recorded_so_far  # record shows a table and keeps its numbers for the text and README
from asgn2.runtime import setup

NOTEBOOK_START = time.perf_counter()
P = get_profile()  # env ASGN2_PROFILE, else "default": every model's run specification and the evaluation sizes
RUN = setup()  # device (env ASGN2_DEVICE, else cuda / mps / cpu), CPU threads, seed
DEVICE = RUN.device
EVAL_SEEDS = (0, 1, 2)  # evaluation seeds (test binarization / dequantization): streams training never draws from
plt.rcParams.update({"figure.dpi": 90, "font.size": 9})
record(
    f"asgn2 {asgn2.__version__}, torch {torch.__version__}: profile **{P.name}**, device {DEVICE}, "
    f"{RUN.threads} CPU threads",
    profile=P.name,
    device=str(DEVICE),
    threads=RUN.threads,
)

# %% [markdown] tags=["setup"]
# **Data.** MNIST, uint8 `(N, 1, 28, 28)`: Q1 models binarized digits, Q2 the 256 grey levels. **A small MNIST
# classifier** names the digits in completions and samples, and gives the features of the FID (Fréchet distance
# between the feature statistics of two image sets) in place of the Inception network, which means little on digits.

# %% tags=["setup", "hide-input"]
train_images, train_labels = data.load_mnist("train")
test_images, test_labels = data.load_mnist("test")
judge, judge_history = classifier.train_classifier(
    P.classifier, (train_images, train_labels), (test_images, test_labels), DEVICE
)
accuracy = judge_history.evals[-1]["test_accuracy"]
record(
    f"train {tuple(train_images.shape)}, test {tuple(test_images.shape)}, {train_images.dtype}. Classifier: test "
    f"accuracy {100 * accuracy:.2f}% ({judge_history.steps} steps, {judge_history.wall_time_s:.0f} s of training)",
    classifier_accuracy=accuracy,
    classifier_train_s=judge_history.wall_time_s,
)

# %% [markdown] tags=["q1"]
# ## Question 1: Image Inpainting by Masked CNN
#
# A PixelCNN models a binary image $x \in \{0,1\}^{784}$ pixel by pixel in raster order,
# $$p(x) = \prod_{i=1}^{784} p(x_i \mid x_{<i}), \qquad p(x_i = 1 \mid x_{<i}) = \sigma\big(\ell_i(x_{<i})\big),$$
# one network computing all 784 logits in one pass because every convolution is **masked**: the output at pixel $i$
# sees only input pixels before $i$. Digits are **stochastically binarized**, $x_i \sim \text{Bernoulli}(g_i/255)$,
# as in the published binarized-MNIST likelihoods.

# %% [markdown] tags=["q1"]
# ### Masked convolution `# COMPLETE`
#
# Mask **A** (first layer) hides the centre pixel and everything after it, so $\ell_i$ never sees $x_i$; mask **B**
# (later layers) keeps the centre, whose features already depend on $x_{<i}$ only. The mask is a buffer applied in
# `forward`; kernel rows below the centre are always masked, so they are not stored.

# %% tags=["q1"]
show_source(pixelcnn.MaskedConv2d)

# %% tags=["q1", "hide-input"]
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, (k, kind) in zip(axes[:2], [(7, "A"), (5, "B")], strict=True):
    ax.imshow(pixelcnn.MaskedConv2d(1, 1, k, kind).full_mask(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{k} x {k} mask {kind} (white = used)")
field = pixelcnn.receptive_field(pixelcnn.PixelCNN(P.pixelcnn.model), 14, 14).float()
field[14, 14] = 0.5  # the pixel whose logit it is, in grey
axes[2].imshow(field, cmap="gray", vmin=0, vmax=1)
axes[2].set_title("inputs logit (14, 14) depends on")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown] tags=["q1"]
# The right panel is measured by autograd on the whole network: $\partial \ell_{(14,14)} / \partial x_j \neq 0$
# exactly on the white pixels, all before $(14, 14)$.
#
# ### The network `# COMPLETE`
#
# A $7 \times 7$ mask-A convolution, residual blocks (mask-B convolution, $1 \times 1$ mixing), and two $1 \times 1$
# layers down to one logit per pixel. Its sizes and training run:

# %% tags=["q1"]
show_source(pixelcnn.ResidualBlock, pixelcnn.PixelCNN)

# %% tags=["q1"]
print(P.pixelcnn.model, P.pixelcnn.train, sep="\n")

# %% [markdown] tags=["q1"]
# ### The loss and training `# COMPLETE`
#
# The loss is $-\log p(x) = -\sum_i \log p(x_i \mid x_{<i})$ in nats, averaged over pixels, each training digit
# binarized anew whenever it is seen. `training.train`: AdamW, warm-up then a cosine learning rate, clipped
# gradients, stopped by the step limit or the time budget (which counts training steps only); it saves and resumes.

# %% tags=["q1"]
show_source(pixelcnn.pixelcnn_loss, pixelcnn.train_pixelcnn, training.train)

# %% tags=["q1"]
pcnn, pcnn_history = pixelcnn.train_pixelcnn(P.pixelcnn, train_images, test_images, DEVICE)
plot_history(
    pcnn_history,
    {
        "train_nll": f"first {P.pixelcnn.eval_images} training digits",
        "test_nll": f"first {P.pixelcnn.eval_images} test digits",
    },
    "NLL (nats / digit)",
    step_loss="training batches",
    loss_scale=784,
)
plt.ylim(top=1.5 * pcnn_history.evals[-1]["test_nll"])  # the first steps' loss (about 543 nats) would flatten the rest
plt.show()

# %% [markdown] tags=["q1"]
# The points score the first digits of each set, binarized once; the two sets differ, so their gap is not overfitting
# alone. The table scores all test digits under three evaluation binarizations (mean, and range).

# %% tags=["q1", "hide-input"]
nll_seeds = [pixelcnn.test_nll(pcnn, data.eval_binarization(test_images, seed)) for seed in EVAL_SEEDS]
nll = sum(nll_seeds) / len(nll_seeds)
record(
    report.nll_table("this PixelCNN", nll_seeds, pcnn_history.steps, pcnn_history.wall_time_s, P.name),
    pixelcnn_nll=nll,
    pixelcnn_nll_seeds=nll_seeds,
    pixelcnn_bpd=bits_per_dim(nll),
    pixelcnn_steps=pcnn_history.steps,
    pixelcnn_train_s=pcnn_history.wall_time_s,
)

# %% [markdown] tags=["q1"]
# ### Sampling `# COMPLETE`
#
# In raster order, $x_i \sim \text{Bernoulli}(\sigma(\ell_i))$: an inpainting with every pixel a hole (`inpaint`,
# next section). The samples are drawn by `sampler.sample`, the same loop with each layer's activations cached; for
# the same random numbers it draws exactly the loop's samples (a test checks it).

# %% tags=["q1"]
show_source(pixelcnn.sample)

# %% tags=["q1", "hide-input"]
n = P.fid_samples
pcnn_samples = sampler.sample(pcnn, n, generator=randomness.generator("sampling", 0)).cpu()
fig, ax = plt.subplots(figsize=(8, 4.4))
show_grid(pcnn_samples[:48], "PixelCNN samples", nrow=12, ax=ax)
plt.show()
subsets = randomness.generator("subsets", 1)
binary_test = data.eval_binarization(test_images[torch.randperm(10000, generator=subsets)[:n]], 2)
binary_train = data.eval_binarization(train_images[torch.randperm(60000, generator=subsets)[:n]], 1)
untold_scores, floor_scores = (sample_scores.score_samples(judge, x, binary_test) for x in (pcnn_samples, binary_train))
record(
    report.sample_table(n, {"PixelCNN samples": untold_scores, "binarized training digits (the floor)": floor_scores}),
    fid_samples=n,
    pixelcnn_fid=untold_scores["fid"],
    pixelcnn_fid_floor=floor_scores["fid"],
)

# %% [markdown] tags=["q1"]
# ### Inpainting `# COMPLETE`
#
# `known` is a bool mask, True where a pixel is observed. **Raster** inpainting samples the hole pixels in raster
# order from $p(x_i \mid x_{<i})$, keeping the observed ones. It sees only observed pixels before each hole pixel: all
# of a bottom hole's context, none of a top hole's.

# %% tags=["q1"]
show_source(pixelcnn.inpaint)

# %% tags=["q1", "hide-input"]
examples = data.eval_binarization(test_images[10:14], 4).to(DEVICE)
for kind in ("bottom", "top"):
    known = holes.hole_mask(kind, len(examples), seed=1).to(DEVICE)
    inpainting.plot_inpainting(pcnn, examples[:3], known[:3], samples=4, methods=("raster",), title=f"{kind} holes")
    plt.show()

# %% [markdown] tags=["q1"]
# **Measured** on the same random test digits and holes, $S$ completions each: **agree**, how often the classifier
# names the true digit per completion; **vote**, how often the majority of the $S$ does. Baselines: **black** (hole
# left at 0), **nearest** (hole copied from the training digit closest on the observed pixels), **10-NN** (majority
# label of the 10 closest). **Hole NLL**: $-\log p$ of the true hole in nats, exact; its **floor**,
# $\sum_{i \in \text{hole}} H(g_i/255)$, is the binarization's own entropy. Intervals 95%; differences paired.

# %% tags=["q1", "hide-input"]
spec = P.inpainting
rows = inpainting_eval.evaluate(pcnn, judge, test_images, test_labels, train_images, train_labels, spec)
record(
    f"{spec.digits} random test digits, S = {spec.samples}\n\n"
    + inpainting_eval.table(rows, spec.candidates, methods=("black", "nearest", "raster"))
    + "\n\n"
    + inpainting_eval.paired_table(rows, [("raster", "black"), ("raster", "nearest")]),
    inpainting=rows,
    inpainting_digits=spec.digits,
)

# %% [markdown] tags=["q1"]
# ### Beyond the question: inpainting that sees every visible pixel
#
# * **SIR**: draw $K$ raster completions, weight each by the likelihood of the observed pixels, resample.
# * **Conditional** (`conditional.py`): the PixelCNN plus an unmasked network of the observed image, its mask and a
#   digit $y$, added after the input layer and the last block. A frozen classifier of the observed pixels,
#   $r(y \mid x_{\text{obs}})$, makes it the mixture
#   $p(x_{\text{hole}} \mid x_{\text{obs}}) = \sum_{y} r(y \mid x_{\text{obs}})\, p(x_{\text{hole}} \mid x_{\text{obs}}, y)$,
#   exact in ten passes. It starts from the PixelCNN above and trains on random holes (half: every pixel), three
#   quarters of the digits told their label.

# %% tags=["q1"]
cond, cond_history = conditional.train_conditional(
    P.conditional, (train_images, train_labels), (test_images, test_labels), DEVICE
)
known = holes.hole_mask("top", len(examples), seed=1).to(DEVICE)
inpainting.plot_inpainting(cond, examples[:3], known[:3], methods=("raster", "conditional"), title="top holes")
plt.show()

# %% tags=["q1", "hide-input"]
cond_rows = inpainting_eval.evaluate_conditional(cond, judge, test_images, test_labels, spec)
all_rows = inpainting_eval.merge(rows, cond_rows)
record(
    f"The same {spec.digits} digits and holes; SIR weighs K = {spec.candidates} raster completions; conditional: "
    f"{cond_history.steps} more steps ({cond_history.wall_time_s:.0f} s). SIR's NLL is an estimate that errs low.\n\n"
    + inpainting_eval.table(all_rows, spec.candidates, methods=("sir", "conditional"))
    + "\n\n"
    + inpainting_eval.paired_table(all_rows, [("conditional", "nearest"), ("conditional", inpainting_eval.CONTEXT)]),
    inpainting=all_rows,
    conditional_steps=cond_history.steps,
    conditional_train_s=cond_history.wall_time_s,
)

# %% [markdown] tags=["q1"]
# ### Beyond the question: samples through the told digit
#
# With nothing observed, the network told $y$ is a class-conditional PixelCNN $p(x \mid y)$, and the **label
# mixture** $p(x) = \sum_{y} \pi(y)\, p(x \mid y)$, $\pi$ the label frequencies, is exact in ten passes; a sample
# draws $y \sim \pi$, then every pixel from the network told $y$.

# %% tags=["q1", "hide-input"]
prior = data.label_frequencies(train_labels)
told_grid = sampler.sample_told(cond, torch.arange(10).repeat(6), generator=randomness.generator("sampling", 2))
fig, ax = plt.subplots(figsize=(5, 3.3))
show_grid(told_grid.cpu(), "told: column y holds x ~ p(x | y), y = 0 to 9", nrow=10, ax=ax)
plt.show()

# %% tags=["q1", "hide-input"]
mixture_samples, told = sampler.sample_label_mixture(cond, n, prior, generator=randomness.generator("sampling", 1))
mixture_scores = sample_scores.score_samples(judge, mixture_samples.cpu(), binary_test, told)
nll_images = data.eval_binarization(test_images[: P.mixture_nll_digits], 0)
untold_nll = pixelcnn.nll_per_image(pcnn, nll_images)
mixture_nll = conditional.mixture_nll_per_image(cond, nll_images, prior)
gain = mean_and_interval(untold_nll - mixture_nll)
per_digit = ", ".join(f"{y}: {100 * a:.0f}%" for y, a in enumerate(mixture_scores["agree_per_digit"]))
samples = {"PixelCNN samples": untold_scores, "label-mixture samples": mixture_scores}
record(
    report.sample_table(n, {**samples, "binarized training digits (the floor)": floor_scores})
    + f"\n\nTold digit named, per digit: {per_digit}.\n\n"
    f"Test NLL of the first {len(nll_images)} test digits (evaluation seed 0): PixelCNN **{untold_nll.mean():.2f}**, "
    f"label mixture **{mixture_nll.mean():.2f}** nats; PixelCNN minus mixture {gain[0]:.2f} ± {gain[1]:.2f} nats "
    "(95%, paired).",
    pixelcnn_untold_scores=untold_scores,
    pixelcnn_mixture_scores=mixture_scores,
    pixelcnn_floor_scores=floor_scores,
    pixelcnn_mixture_nll=mixture_nll.mean().item(),
    pixelcnn_untold_nll_subset=untold_nll.mean().item(),
    pixelcnn_mixture_gain=gain,
    pixelcnn_mixture_nll_digits=len(nll_images),
)

# %% tags=["q1", "hide-input"]
record(discussion.q1(recorded_so_far()))

# %% [markdown] tags=["q2"]
# ## Question 2: Real NVP
#
# A flow maps data to a latent $z = f_w(v)$ by a bijection, with a standard normal base:
# $$\log p_w(v) = \log \mathcal{N}(f_w(v); 0, I) + \log \left|\det \frac{\partial f_w}{\partial v}\right|.$$
# Grey levels are **dequantized**, $v = x + u$, $u \sim U[0,1)^{784}$; $-\log p(v)$ bounds the code length of $x$,
# reported in **bits per dimension**, $-\log p(v) / (784 \ln 2)$. First $v$ goes to logit space,
# $\text{logit}(\lambda + (1 - 2\lambda)\, v / 256)$, $\lambda = 10^{-6}$, whose log-determinant counts too. Every
# transform has `forward(x) -> (z, log_det)` and `inverse(z) -> (x, log_det)`.

# %% [markdown] tags=["q2"]
# ### Coupling layer with fully-connected scale and translation `# COMPLETE`
#
# A coupling keeps half of the pixels (a checkerboard) and transforms the other half by a scale and shift that a
# fully-connected network computes from the kept half: $z_{\text{free}} = x_{\text{free}} \odot e^{s(x_{\text{cond}})} + t(x_{\text{cond}})$.
# The Jacobian is triangular, so $\log|\det| = \sum s$; the inverse is
# $x_{\text{free}} = (z_{\text{free}} - t(z_{\text{cond}})) \odot e^{-s(z_{\text{cond}})}$.

# %% tags=["q2"]
show_source(realnvp.checkerboard, realnvp.AffineCoupling)

# %% tags=["q2", "hide-input"]
# the contract, checked numerically on one coupling with random (non-identity) weights
coupling = realnvp.AffineCoupling(realnvp.checkerboard(parity=0), hidden=64)
torch.nn.init.normal_(coupling.net[-1].weight, std=0.05)
x = torch.randn(1, 784)
z, log_det = coupling(x)
x_back, log_det_inverse = coupling.inverse(z)
jacobian = torch.autograd.functional.jacobian(lambda v: coupling(v)[0], x)[0, :, 0, :]
print(
    f"round trip max |x - f^-1(f(x))| = {(x - x_back).abs().max():.2e}; "
    f"log_det {log_det.item():.4f} vs autograd log|det J| {torch.linalg.slogdet(jacobian)[1].item():.4f}; "
    f"forward + inverse log_det = {(log_det + log_det_inverse).item():.1e}"
)

# %% [markdown] tags=["q2"]
# ### The flow `# COMPLETE`
#
# $f_w$: scale to $[0, 1)$ and logit (each with its log-determinant), then couplings whose checkerboards alternate,
# so every pixel is transformed by every other coupling; `flows.Flow` pairs it with the standard normal base.

# %% tags=["q2"]
show_source(realnvp.RealNVP, flows.Scale, flows.Logit, realnvp.real_nvp, flows.Flow, flows.StandardNormal)

# %% [markdown] tags=["q2"]
# ### The loss and training `# COMPLETE`
#
# The loss: bits/dim of a freshly dequantized batch. `training.train` (shared with Q1): AdamW, warm-up then a cosine
# learning rate, clipped gradients, stopped by the step limit or the time budget. Test figures dequantize with
# evaluation seeds whose noise training never draws. The flow's sizes and training run:

# %% tags=["q2"]
show_source(
    realnvp.dequantize, realnvp.realnvp_loss, realnvp.bits_per_dim_per_image, realnvp.train_realnvp, training.train
)

# %% tags=["q2"]
print(P.realnvp.model, P.realnvp.train, sep="\n")

# %% tags=["q2"]
nvp, nvp_history = realnvp.train_realnvp(P.realnvp, train_images, test_images, DEVICE)
plot_history(
    nvp_history, {"test_bpd": f"test digits ({P.realnvp.eval_images})"}, "bits / dim", step_loss="training batches"
)
plt.ylim(top=min(3.0, max(nvp_history.step_loss)))
plt.show()

# %% tags=["q2", "hide-input"]
bpd_images = torch.stack([realnvp.bits_per_dim_per_image(nvp, test_images, seed) for seed in EVAL_SEEDS])
bpd_seeds = bpd_images.mean(1).tolist()
bpd, bpd_half = mean_and_interval(bpd_images.mean(0))  # over test digits, each averaged over the seeds
record(
    report.bpd_table("this Real NVP", (bpd, bpd_half), bpd_seeds, nvp_history.steps, nvp_history.wall_time_s, P.name),
    realnvp_bpd=bpd,
    realnvp_bpd_interval=[bpd, bpd_half],
    realnvp_bpd_seeds=bpd_seeds,
    realnvp_steps=nvp_history.steps,
    realnvp_train_s=nvp_history.wall_time_s,
)

# %% [markdown] tags=["q2"]
# ### Sampling `# COMPLETE`
#
# $z \sim \mathcal{N}(0, T^2 I)$, $v = f_w^{-1}(z)$, $x = \lfloor v \rfloor$; $T = 1$ samples the model, a lower
# *temperature* $T$ draws nearer the latent's centre. $T$ is chosen by the lowest FID against training digits (the
# grid grows until the choice is inside it); the table reports each $T$ against test digits, with its own latents.

# %% tags=["q2"]
show_source(realnvp.sample, realnvp.to_images)

# %% tags=["q2", "hide-input"]
subsets = randomness.generator("subsets", 1)
n = P.fid_samples
real_test = test_images[torch.randperm(10000, generator=subsets)[:n]]
order = torch.randperm(60000, generator=subsets)
real_train, choosing = train_images[order[:n]], train_images[order[n : 2 * n]]  # the floor's digits, the choice's
floor = {
    "fid": fid.fid_images(real_train, real_test, judge),
    "confident": classifier.confident_fraction(judge, real_train),
}
TEMPERATURES = [1.0, 0.9, 0.8, 0.7]
CHOICE_SEED = 1000  # the choice's latents: sampling seeds the reported rows never use
t_nvp, choice = realnvp_eval.choose_temperature(
    lambda ts: realnvp_eval.sample_quality(nvp, judge, choosing, ts, n=n, seed=CHOICE_SEED), TEMPERATURES
)
quality = realnvp_eval.sample_quality(nvp, judge, real_test, [r["temperature"] for r in choice], n=n)
record(
    report.temperature_table(n, floor, choice, quality, t_nvp),
    realnvp_quality=quality,
    realnvp_floor=floor,
    realnvp_temperature=t_nvp,
)

# %% tags=["q2", "hide-input"]
fig, ax = plt.subplots(figsize=(8, 2.4))
shown = realnvp.sample(nvp, 48, t_nvp, randomness.generator("sampling", 20))
show_grid(shown, f"Real NVP samples, T = {t_nvp}", nrow=16, ax=ax)
plt.show()

# %% [markdown] tags=["q2"]
# ### Beyond the question: a base that knows the digits
#
# Only the base changes, to one Gaussian per digit,
# $q(z) = \sum_{y} \pi(y)\, \mathcal{N}(z; \mu_y, \operatorname{diag} \sigma_y^2)$. With the flow fixed, the
# maximum-likelihood $\mu_y, \sigma_y^2$ are the mean and variance of digit $y$'s training latents: one pass, no
# training. The density stays exact; a sample of digit $y$ draws $z \sim \mathcal{N}(\mu_y, T^2 \sigma_y^2)$.

# %% tags=["q2", "hide-input"]
digit_nvp = digit_base.digit_flow(nvp, train_images, train_labels)
digit_images = torch.stack([realnvp.bits_per_dim_per_image(digit_nvp, test_images, seed) for seed in EVAL_SEEDS])
digit_bpd = digit_images.mean().item()
gain = mean_and_interval((bpd_images - digit_images).mean(0))  # paired: the same digits and noise
t_digit, digit_choice = realnvp_eval.choose_temperature(
    lambda ts: realnvp_eval.told_sample_quality(digit_nvp, judge, choosing, ts, n=n, seed=CHOICE_SEED), TEMPERATURES
)
temperatures = [r["temperature"] for r in digit_choice]
digit_quality = realnvp_eval.told_sample_quality(digit_nvp, judge, real_test, temperatures, n=n)
record(
    f"Test bits/dim (all 10000 test digits, {len(EVAL_SEEDS)} dequantization seeds): plain base **{bpd:.4f}**, "
    f"per-digit base **{digit_bpd:.4f}**; plain minus per-digit {gain[0]:.5f} ± {gain[1]:.5f} (paired)."
    f"\n\n{report.digit_base_table(n, digit_choice, digit_quality, t_digit)}",
    realnvp_digit_bpd=digit_bpd,
    realnvp_digit_gain=gain,
    realnvp_digit_quality=digit_quality,
    realnvp_digit_temperature=t_digit,
)

# %% tags=["q2", "hide-input"]
fig, ax = plt.subplots(figsize=(4.4, 2.9))
labels = torch.arange(10).repeat(6)
told_grid = digit_base.sample_told(digit_nvp, labels, t_digit, randomness.generator("sampling", 22))
show_grid(told_grid, f"per-digit base, T = {t_digit}: column y told digit y", nrow=10, ax=ax)
plt.show()

# %% tags=["q2", "hide-input"]
record(discussion.q2(recorded_so_far()))

# %% tags=["q2", "hide-input"]
wall_time = time.perf_counter() - NOTEBOOK_START
record(f"notebook wall time: {wall_time:.0f} s ({P.name} profile, device {DEVICE})", wall_time_s=wall_time)
