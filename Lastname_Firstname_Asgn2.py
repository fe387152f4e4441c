# %% [markdown] tags=["setup"]
# # Assignment 2: Explicit Methods for Generation, programming questions
#
# *ECE1508 Deep Generative Models.* The code lives in the package `asgn2` beside this notebook; the notebook calls it
# and prints the package's own source wherever the starter notebook has a `# COMPLETE` part, so the code shown is the
# code that ran. Models train on the first run and are saved under `checkpoints/`, so a rerun only evaluates. Every
# number in the text below is taken from this run's own outputs.

# %% tags=["setup", "hide-input"]
import time  # noqa: I001  (the asgn2 imports on two lines, not fourteen)

import matplotlib.pyplot as plt
import torch

import asgn2
from asgn2 import classifier, conditional, data, digit_base, discussion, fid, flows, holes, inpainting, metrics
from asgn2 import inpainting_eval, pixelcnn, randomness, realnvp, realnvp_eval, sample_scores, sampler, training
from asgn2.display import plot_history, show_grid, show_source
from asgn2.metrics import bits_per_dim
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
# **Data.** MNIST: 60000 training and 10000 test digits, uint8 `(N, 1, 28, 28)`. Q1 models binarized digits, Q2 the
# 256 grey levels. **A small MNIST classifier** judges the inpainted digits in Q1 and gives the features of the FID
# (Fréchet distance between feature statistics of two image sets) in Q2, in place of the Inception network of
# Heusel et al., which means little on 28 x 28 digits.

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
# and one network computes all 784 logits $\ell_i$ in one pass because every convolution is **masked**: the output
# at pixel $i$ sees only input pixels before $i$. Digits are **stochastically binarized**, $x_i \sim
# \text{Bernoulli}(g_i/255)$ for grey level $g_i$, the convention of the published binarized-MNIST likelihoods.
# **Inpainting** fills the missing pixels (the *hole*) of an image given the visible ones.

# %% [markdown] tags=["q1"]
# ### Masked convolution `# COMPLETE`
#
# Mask **A** (first layer) hides the centre pixel and everything after it, so $\ell_i$ never sees $x_i$; mask **B**
# (later layers) keeps the centre, because a feature at $i$ already depends on $x_{<i}$ only. The mask is a buffer
# applied in `forward`. Kernel rows below the centre are always masked, so they are not stored.

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
# exactly on the white pixels, all before $(14, 14)$; the tests check this for all 784 pixels.
#
# ### The network `# COMPLETE`
#
# A $7 \times 7$ mask-A convolution, residual blocks (a mask-B convolution and a $1 \times 1$ mixing layer), and two
# $1 \times 1$ layers down to one logit per pixel. Its sizes, and the training run below, are the profile's:

# %% tags=["q1"]
show_source(pixelcnn.ResidualBlock, pixelcnn.PixelCNN)

# %% tags=["q1"]
print(P.pixelcnn.model, P.pixelcnn.train, sep="\n")

# %% [markdown] tags=["q1"]
# ### The loss and training `# COMPLETE`
#
# The loss is the negative log-likelihood of the pixels, $-\log p(x) = -\sum_i \log p(x_i \mid x_{<i})$, in nats
# (`pixelcnn_loss` averages it over pixels). Each training digit is binarized anew every time it is seen. Training
# (`training.train`) is AdamW with warm-up and a cosine learning rate over the run, gradients clipped, stopped by the
# profile's step or time limit; a finished run is saved and loaded on a rerun, an interrupted one resumes.

# %% tags=["q1"]
show_source(pixelcnn.pixelcnn_loss, pixelcnn.train_pixelcnn, training.train)

# %% tags=["q1"]
pcnn, pcnn_history = pixelcnn.train_pixelcnn(P.pixelcnn, train_images, test_images, DEVICE)
plot_history(
    pcnn_history,
    {"train_nll": f"{P.pixelcnn.eval_images} training digits", "test_nll": f"{P.pixelcnn.eval_images} test digits"},
    "NLL (nats / digit)",
)
plt.show()

# %% [markdown] tags=["q1"]
# The curve's points use a fixed subset of test and training digits, each binarized once; the table uses all
# 10000 test digits, binarized with three evaluation seeds (mean, and the range over seeds).

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
# Pixel by pixel in raster order, $x_i \sim \text{Bernoulli}(\sigma(\ell_i))$: a sample is an inpainting with every
# pixel a hole (`inpaint`, the loop, in the next section). The samples below are drawn by `sampler.sample`, the same
# loop with every layer's activations cached, so that each step computes one new position instead of the whole
# network; for the same random numbers it draws exactly the loop's samples (`tests/test_inpainting.py`).

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
    pixelcnn_fid=untold_scores["fid"],
    pixelcnn_fid_floor=floor_scores["fid"],
)

# %% [markdown] tags=["q1"]
# ### Inpainting `# COMPLETE`
#
# `known` is a bool mask, True where a pixel is observed. **Raster** inpainting samples the hole pixels in raster
# order from $p(x_i \mid x_{<i})$ and keeps the observed pixels exactly. It sees the observed pixels before each hole
# pixel only: a visible pixel below or right of the hole is ignored. So it sees all of a bottom hole's context, and
# none of a top hole's.

# %% tags=["q1"]
show_source(pixelcnn.inpaint)

# %% tags=["q1", "hide-input"]
examples = data.eval_binarization(test_images[10:14], 4).to(DEVICE)
for kind in ("bottom", "top"):
    known = holes.hole_mask(kind, len(examples), seed=1).to(DEVICE)
    inpainting.plot_inpainting(pcnn, examples, known, samples=4, methods=("raster",), title=f"{kind} holes")
    plt.show()

# %% [markdown] tags=["q1"]
# **Measured.** Raster draws $S$ completions of each test digit. **agree**: how often the classifier names the true
# digit, per completion; **vote**: how often the majority label of the $S$ completions is the true one. Baselines:
# **black** leaves the hole at 0; **nearest** copies the hole from the training digit closest on the observed pixels;
# the **10-NN vote** is the majority label of the 10 closest training digits. **Hole NLL**:
# $-\log p(x_{\text{hole}} \mid \text{the pixels before it})$ of the true hole in nats, exact; its **floor** is the
# entropy of the binarization itself, $\sum_{i \in \text{hole}} H(g_i/255)$, which no model can expect to beat.
# Intervals are 95%; the methods are scored on the same digits, holes and binarizations.

# %% tags=["q1", "hide-input"]
spec = P.inpainting
rows = inpainting_eval.evaluate(pcnn, judge, test_images, test_labels, train_images, train_labels, spec)
record(
    f"{spec.digits} random test digits, S = {spec.samples}\n\n"
    + inpainting_eval.table(rows, spec.candidates, methods=("black", "nearest", "raster")),
    inpainting=rows,
    inpainting_digits=spec.digits,
)

# %% [markdown] tags=["q1"]
# ### Beyond the question: inpainting that sees every visible pixel
#
# Raster sampling is blind to what lies after a hole pixel. Two ways to use all of it:
#
# * **SIR** (sampling-importance-resampling): draw $K$ raster completions, weight each by the likelihood the model
#   gives the observed pixels, and resample. Exact as $K \to \infty$; with a small $K$ it repeats the few candidates
#   that fit.
# * **Conditional** (`conditional.ConditionalPixelCNN`): the PixelCNN above plus an unmasked network
#   (`ConditionNet`) of the observed image, its mask and a digit $y$, whose features are added after the input layer
#   and after the last block. A small classifier of the observed pixels, the *recogniser* $r(y \mid x_{\text{obs}})$,
#   trained first and then frozen, says which digits they suggest, and the model is the mixture
#   $p(x_{\text{hole}} \mid x_{\text{obs}}) = \sum_{y} r(y \mid x_{\text{obs}})\, p(x_{\text{hole}} \mid x_{\text{obs}}, y)$:
#   a completion draws $y$ from $r$, then its hole from the network *told* $y$; its likelihood is exact in ten
#   passes. It starts from the trained PixelCNN's layers and trains on: half of the digits with every pixel a hole,
#   the others a random hole; three quarters told their true label.

# %% tags=["q1"]
show_source(conditional.ConditionNet.forward, conditional.mixture_hole_log_prob, inpainting.label_mixture)

# %% tags=["q1"]
cond, cond_history = conditional.train_conditional(
    P.conditional, (train_images, train_labels), (test_images, test_labels), DEVICE
)
for kind in ("top", "ring"):
    known = holes.hole_mask(kind, len(examples), seed=1).to(DEVICE)
    inpainting.plot_inpainting(
        cond, examples, known, samples=3, candidates=P.inpainting.candidates, title=f"{kind} holes"
    )
    plt.show()

# %% tags=["q1", "hide-input"]
cond_rows = inpainting_eval.evaluate_conditional(cond, judge, test_images, test_labels, spec)
record(
    f"The same {spec.digits} digits and holes; SIR weighs K = {spec.candidates} raster completions of the PixelCNN; "
    f"conditional: {cond_history.steps} more steps from the PixelCNN's layers ({cond_history.wall_time_s:.0f} s). "
    "SIR's NLL is an importance-sampling estimate that errs low (`benchmarks/RESULTS.md`, *sir-evidence*).\n\n"
    + inpainting_eval.table(inpainting_eval.merge(rows, cond_rows), spec.candidates),
    inpainting=inpainting_eval.merge(rows, cond_rows),
    conditional_steps=cond_history.steps,
    conditional_train_s=cond_history.wall_time_s,
)

# %% [markdown] tags=["q1"]
# ### Beyond the question: samples through the told digit
#
# With nothing observed, the conditional network told a digit $y$ is a class-conditional PixelCNN $p(x \mid y)$
# (van den Oord et al. 2016). Generation can go through it as a **label mixture**
# $$p(x) = \sum_{y=0}^{9} \pi(y)\, p(x \mid y),$$
# $\pi$ the training digits' label frequencies: its likelihood is exact in ten passes, and a sample draws
# $y \sim \pi$, then every pixel in raster order from the network told $y$. The digit enters `ConditionNet` as a
# learned $7 \times 7$ map per digit (`digit_map`, in its `forward` above), so the told digit says where the ink goes
# from the first pixel on: a bias that is the same at every position cannot (`benchmarks/RESULTS.md`, *digit-map*).

# %% tags=["q1"]
show_source(conditional.label_mixture_log_prob, sampler.sample_label_mixture)

# %% tags=["q1", "hide-input"]
prior = data.label_frequencies(train_labels)
told_grid = sampler.sample_told(
    cond, torch.arange(10).repeat_interleave(12), generator=randomness.generator("sampling", 2)
)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.9))
show_grid(pcnn_samples[:120], "PixelCNN: x ~ p(x)", nrow=12, ax=axes[0])
show_grid(told_grid.cpu(), "told: row y holds x ~ p(x | y), y = 0 to 9", nrow=12, ax=axes[1])
plt.show()

# %% tags=["q1", "hide-input"]
mixture_samples, told = sampler.sample_label_mixture(cond, n, prior, generator=randomness.generator("sampling", 1))
mixture_scores = sample_scores.score_samples(judge, mixture_samples.cpu(), binary_test, told)
nll_images = data.eval_binarization(test_images[: P.mixture_nll_digits], 0)
untold_nll = pixelcnn.nll_per_image(pcnn, nll_images)
mixture_nll = conditional.mixture_nll_per_image(cond, nll_images, prior)
gain = metrics.mean_and_interval(untold_nll - mixture_nll)
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
# A normalizing flow maps data to a latent $z = f_w(v)$ with a bijection $f_w$ and a standard normal base
# distribution, so by the change of variables
# $$\log p_w(v) = \log \mathcal{N}(f_w(v); 0, I) + \log \left|\det \frac{\partial f_w}{\partial v}\right|.$$
# The grey levels $x \in \{0,\dots,255\}^{784}$ are **dequantized**, $v = x + u$ with $u \sim U[0,1)^{784}$, so that a
# continuous density can be fitted; $-\log p(v)$ averaged over $u$ bounds the code length of $x$, reported in
# **bits per dimension**, $-\log p(v) / (784 \ln 2)$. Before the couplings, $v$ goes to logit space,
# $y = \text{logit}(\lambda + (1 - 2\lambda)\, v / 256)$ with $\lambda = 10^{-6}$, and that step's log-determinant is
# part of the likelihood. Every transform has `forward(x) -> (z, log_det)` and `inverse(z) -> (x, log_det)`.

# %% [markdown] tags=["q2"]
# ### Coupling layer with fully-connected scale and translation `# COMPLETE`
#
# An affine coupling keeps half of the pixels (a checkerboard) and transforms the other half with a scale and shift
# computed from the kept half by a fully-connected network: $z_{\text{free}} = x_{\text{free}} \odot e^{s(x_{\text{cond}})} + t(x_{\text{cond}})$.
# The Jacobian is triangular with $e^{s}$ on the diagonal, so $\log|\det| = \sum s$, and the inverse needs no
# inversion of a network: $x_{\text{free}} = (z_{\text{free}} - t(z_{\text{cond}})) \odot e^{-s(z_{\text{cond}})}$.

# %% tags=["q2"]
show_source(realnvp.checkerboard, realnvp.AffineCoupling)

# %% tags=["q2"]
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
# The transform $f_w$: preprocessing (scale to $[0, 1)$, logit, each with its log-determinant), then couplings
# whose checkerboards alternate, so every pixel is transformed by every other coupling. The model pairs it with the
# standard normal base (`flows.Flow`).

# %% tags=["q2"]
show_source(realnvp.RealNVP, flows.Scale, flows.Logit, realnvp.real_nvp, flows.Flow, flows.StandardNormal)

# %% [markdown] tags=["q2"]
# ### The loss and training `# COMPLETE`
#
# The loss is the negative log-likelihood of a freshly dequantized batch, in bits per dimension. Training
# (`training.train`, the loop shared with Q1) is AdamW with warm-up and a cosine learning rate over the run,
# gradients clipped, stopped by the profile's step or time limit. Test figures dequantize with evaluation seeds whose
# noise training never draws. The flow's sizes and the training run are the profile's:

# %% tags=["q2"]
show_source(realnvp.dequantize, realnvp.realnvp_loss, realnvp.test_bits_per_dim, realnvp.train_realnvp, training.train)

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
bpd_seeds = [realnvp.test_bits_per_dim(nvp, test_images, seed) for seed in EVAL_SEEDS]
bpd = sum(bpd_seeds) / len(bpd_seeds)
record(
    report.bpd_table("this Real NVP", bpd_seeds, nvp_history.steps, nvp_history.wall_time_s, P.name),
    realnvp_bpd=bpd,
    realnvp_bpd_seeds=bpd_seeds,
    realnvp_steps=nvp_history.steps,
    realnvp_train_s=nvp_history.wall_time_s,
)

# %% [markdown] tags=["q2"]
# ### Sampling `# COMPLETE`
#
# $z \sim \mathcal{N}(0, T^2 I)$, then $v = f_w^{-1}(z)$ and $x = \lfloor v \rfloor$. $T = 1$ samples the model; a
# lower *temperature* $T$ concentrates the samples near the latent's centre. Which $T$ is shown is decided by
# measurement: for each $T$, samples against as many real test digits, the FID and the fraction of samples that
# the classifier labels with probability at least 0.9, next to the same two numbers for real training digits.

# %% tags=["q2"]
show_source(realnvp.sample, realnvp.to_images)

# %% tags=["q2", "hide-input"]
subsets = randomness.generator("subsets", 1)
n = P.fid_samples
real_test = test_images[torch.randperm(10000, generator=subsets)[:n]]
real_train = train_images[torch.randperm(60000, generator=subsets)[:n]]
floor = {
    "fid": fid.fid_images(real_train, real_test, judge),
    "confident": classifier.confident_fraction(judge, real_train),
}
TEMPERATURES = [1.0, 0.9, 0.8, 0.7]
quality = realnvp_eval.sample_quality(nvp, judge, real_test, TEMPERATURES, n=n)
best = min(quality, key=lambda row: row["fid"])
record(
    report.temperature_table(n, floor, quality)
    + f"\n\nThe lowest FID is at T = {best['temperature']}: the temperature shown below.",
    realnvp_quality=quality,
    realnvp_floor=floor,
    realnvp_temperature=best["temperature"],
)

# %% tags=["q2", "hide-input"]
fig, ax = plt.subplots(figsize=(8, 4.4))
shown = realnvp.sample(nvp, 48, best["temperature"], randomness.generator("sampling", 20))
show_grid(shown, f"Real NVP samples, T = {best['temperature']}", nrow=12, ax=ax)
plt.show()

# %% [markdown] tags=["q2"]
# ### Beyond the question: a base that knows the digits
#
# The flow stays as it is; only the base changes, to one Gaussian per digit (as Glow's class-conditional prior),
# $$q(z) = \sum_{y=0}^{9} \pi(y)\, \mathcal{N}\big(z; \mu_y, \operatorname{diag} \sigma_y^2\big).$$
# With the trained flow fixed, the maximum-likelihood $\mu_y$ and $\sigma_y^2$ are the mean and variance of the
# latents of digit $y$'s training images: one pass over the training set, no further training. The density stays
# exact, $\log p(v) = \log q(f(v)) + \log|\det \partial f / \partial v|$, so its bits/dim compare with the plain
# flow's; a sample of digit $y$ draws $z \sim \mathcal{N}(\mu_y, T^2 \sigma_y^2)$ and maps it back. A base learnt together with the flow, in a training run of its own, draws clearer samples still
# (`benchmarks/RESULTS.md`, *realnvp-joint-base*); it would cost a second training run, which this notebook's time
# budget does not leave.

# %% tags=["q2"]
show_source(digit_base.DiagonalGaussianMixture.log_prob, digit_base.fit_digit_base)

# %% tags=["q2", "hide-input"]
digit_nvp = digit_base.digit_flow(nvp, train_images, train_labels)
digit_bpd_seeds = [realnvp.test_bits_per_dim(digit_nvp, test_images, seed) for seed in EVAL_SEEDS]
digit_bpd = sum(digit_bpd_seeds) / len(digit_bpd_seeds)
digit_quality = realnvp_eval.told_sample_quality(digit_nvp, judge, real_test, TEMPERATURES, n=n)
digit_best = min(digit_quality, key=lambda row: row["fid"])
record(
    f"Test bits/dim (all 10000 test digits, mean of {len(EVAL_SEEDS)} dequantization seeds): plain base "
    f"**{bpd:.4f}**, per-digit base **{digit_bpd:.4f}** ({min(digit_bpd_seeds):.4f} to {max(digit_bpd_seeds):.4f})."
    f"\n\n{report.digit_base_table(n, quality, digit_quality)}\n\n"
    f"The per-digit base's lowest FID is at T = {digit_best['temperature']}, the temperature of its grid.",
    realnvp_digit_bpd=digit_bpd,
    realnvp_digit_bpd_seeds=digit_bpd_seeds,
    realnvp_digit_quality=digit_quality,
    realnvp_digit_temperature=digit_best["temperature"],
)

# %% tags=["q2", "hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 4.9))
t = best["temperature"]
show_grid(
    realnvp.sample(nvp, 120, t, randomness.generator("sampling", 21)), f"plain base, T = {t}", nrow=12, ax=axes[0]
)
t = digit_best["temperature"]
labels = torch.arange(10).repeat_interleave(12)
rows = digit_base.sample_told(digit_nvp, labels, t, randomness.generator("sampling", 22))
show_grid(rows, f"per-digit base, T = {t}: row y told digit y", nrow=12, ax=axes[1])
plt.show()

# %% [markdown] tags=["q2"]
# **Interpolation** between the latents of two test digits (the end points are the digits themselves), and each
# sample's **nearest training digits** in pixel space: the model does not copy its training set.

# %% tags=["q2", "hide-input"]
pairs = [(0, 1), (2, 3), (4, 7)]
paths = [realnvp_eval.interpolate(nvp, test_images[i], test_images[j], steps=10) for i, j in pairs]
fig, ax = plt.subplots(figsize=(8, 2.8))
show_grid(torch.cat(paths), "interpolation in latent space", nrow=10, ax=ax)
plt.show()
samples = realnvp.sample(nvp, 5, best["temperature"], randomness.generator("sampling", 10)).cpu()
neighbours = realnvp_eval.nearest_neighbours(samples, train_images, k=4)
rows = [torch.cat([s[None], train_images[i]]) for s, i in zip(samples, neighbours, strict=True)]
fig, ax = plt.subplots(figsize=(4, 4.2))
show_grid(torch.cat(rows), "a sample, then its 4 nearest training digits", nrow=5, ax=ax)
plt.show()

# %% tags=["q2", "hide-input"]
record(discussion.q2(recorded_so_far()))

# %% tags=["q2", "hide-input"]
wall_time = time.perf_counter() - NOTEBOOK_START
record(f"notebook wall time: {wall_time:.0f} s ({P.name} profile, device {DEVICE})", wall_time_s=wall_time)
