"""Beyond programming Q1: a faster implementation of the same raster-order sampling, and what draws through it.

`pixelcnn.inpaint` is the definition: the whole network on the whole image once per hole pixel. `sample_holes` gives
the same samples for the same generator (tested) and caches every layer's activations (the route of Fast
PixelCNN++, Ramachandran et al. 2017): rows above the current pixel are final, and a new pixel changes nothing at
or left of itself in its own row, so each step computes one new position per layer instead of the whole network.

`known` is a bool tensor (N, 1, H, W), True where a pixel is observed; a sampler draws the others (the hole) in
raster order and returns observed pixels bit for bit. With `conditional=True` a `conditional.ConditionalPixelCNN`
draws from p(x_i | x_<i, x_observed, y) (every visible pixel), told the digit y of each completion by `labels` (or,
untold, with the recogniser's probabilities in its place); otherwise from p(x_i | x_<i) (what lies before the pixel
only). How it is run (rows at a time, CPU threads) is performance machinery, kept in `sample_and_score`'s helpers.
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F

from .conditional import ConditionalPixelCNN, check_label_prior, stage_outputs
from .data import IMAGE_SHAPE
from .pixelcnn import MaskedConv2d, PixelCNN, check_binary_images, check_known_mask
from .runtime import intra_op_threads

# A step's operations below this many multiply-adds (all rows together) run on one CPU thread. On an idle machine a
# second thread is about as fast (benchmarks/RESULTS.md#sampler-speed: 0.124 s vs 0.114 s threaded for the plain
# raster step, 0.128 s vs 0.151 s for the conditional one), but every one of the step's ~50 small operations then
# waits for the other core, a long wait when that core is busy (`python benchmarks/bench_sampler.py speed --busy 1`).
SERIAL_STEP_MACS = 8_000_000


def check_known(images: torch.Tensor, known: torch.Tensor) -> None:
    """Raise ValueError unless images are binary (N, 1, H, W) and known is a bool mask of the same shape."""
    check_binary_images(images)
    check_known_mask(images, known)


def _uniforms(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One uniform per pixel, drawn up front: pixel i is set to 1 iff u_i < p(x_i = 1 | ...). Drawing them all at
    once makes a sampler's output a function of (model, x, known, generator) alone, whichever pixels it visits."""
    return torch.rand(x.shape, generator=generator).to(x.device)


def _condition(model: PixelCNN, known: torch.Tensor, conditional: bool) -> torch.Tensor | None:
    if conditional and not isinstance(model, ConditionalPixelCNN):
        raise ValueError("conditional sampling needs a conditional.ConditionalPixelCNN")
    return known if conditional else None


class _ActivationCache:
    """The input of every masked convolution, channels last and zero-padded like the convolution pads it:
    (N, H + kh - 1, W + kw - 1, C_in) with the kernel (kh, kw) = (k//2 + 1, k). Rows above `first_row` (no hole
    there or above) come from one forward pass over those rows, made once per distinct image and then repeated
    `repeats` times; `step(r, c)` then computes position (r, c) of every layer from the cached windows, in raster
    order. `prefix_log_prob` (N * repeats,) is log p of the rows above `first_row`. `labels` (N,), if given, are
    told to the conditional model (then every row of x is its own completion: `repeats` must be 1)."""

    def __init__(
        self,
        model: PixelCNN,
        x: torch.Tensor,
        known: torch.Tensor | None,
        first_row: int,
        repeats: int,
        labels: torch.Tensor | None = None,
    ) -> None:
        if labels is not None and repeats != 1:
            raise ValueError("completions told their own labels share no prefix: repeats must be 1")
        self.model = model
        self.convs: list[MaskedConv2d] = [model.input] + [block.conv for block in model.blocks]
        self.kernels = [self._kernel(conv) for conv in self.convs]
        n, _, height, width = x.shape
        conditioned = isinstance(model, ConditionalPixelCNN)  # untold and nothing observed, still a position bias
        features = model.condition_features(x, known, labels) if conditioned else None
        self.features = None if features is None else features.permute(0, 2, 3, 1).contiguous()  # (N, H, W, C_c)
        if features is not None:  # the stage biases at one position: features @ W + b, split into the stages
            self.condition = (model.condition_bias.weight[:, :, 0, 0].t(), model.condition_bias.bias)
        self.buffers = []
        for conv in self.convs:
            kh, kw = conv.kernel_size
            self.buffers.append(x.new_zeros(n, height + kh - 1, width + kw - 1, conv.in_channels))
        left = model.input.kernel_size[1] // 2  # x itself, every row: observed pixels below the first hole too
        self.buffers[0][:, model.input.rows_above :, left : left + width] = x.permute(0, 2, 3, 1)
        self.prefix_log_prob = x.new_zeros(n)
        if first_row > 0:  # the rows above the first hole: causal, so a forward pass over them alone is exact
            self._fill_prefix(x[:, :, :first_row], None if features is None else features[:, :, :first_row])
        if repeats > 1:
            self.buffers = [b.repeat_interleave(repeats, 0) for b in self.buffers]
            self.prefix_log_prob = self.prefix_log_prob.repeat_interleave(repeats, 0)
            if self.features is not None:
                self.features = self.features.repeat_interleave(repeats, 0)
        self.mix = [(block.mix.weight[:, :, 0, 0].t(), block.mix.bias) for block in model.blocks]
        hidden, out = model.head[1], model.head[3]
        self.head = [(hidden.weight[:, :, 0, 0].t(), hidden.bias), (out.weight[:, :, 0, 0].t(), out.bias)]
        matrices = self.kernels + [w for w, _ in self.mix + self.head]
        if self.features is not None:
            matrices.append(self.condition[0])
        self.step_macs = self.buffers[0].shape[0] * sum(m.numel() for m in matrices)  # of one `step`, all rows

    def _fill_prefix(self, x: torch.Tensor, features: torch.Tensor | None) -> None:
        """Every layer's input on the rows of x (the rows above the first hole), and their log p."""
        outputs = stage_outputs(self.model, x, features)
        for buffer, conv, h in zip(self.buffers[1:], self.convs[1:], outputs[:-1], strict=True):
            left = conv.kernel_size[1] // 2  # block k's convolution reads ReLU(the output of stage k - 1)
            buffer[:, conv.rows_above : conv.rows_above + x.shape[2], left : left + x.shape[3]] = F.relu(h).permute(
                0, 2, 3, 1
            )
        log_p = -F.binary_cross_entropy_with_logits(self.model.head(outputs[-1]), x, reduction="none")
        self.prefix_log_prob = log_p.flatten(1).sum(1)

    @staticmethod
    def _kernel(conv: MaskedConv2d) -> torch.Tensor:
        """The masked kernel as a matrix (kh * kw * C_in, C_out), rows in the order of a channels-last window."""
        return (conv.weight * conv.mask).permute(2, 3, 1, 0).flatten(0, 2)

    def _conv_at(self, k: int, r: int, c: int) -> torch.Tensor:
        """Masked convolution k at output position (r, c): (N, C_out).

        A small batch copies its input window and makes one matrix product (fewer, cheaper calls); a large one makes
        one product per kernel row straight from the buffer (each window row is a strided view: no copy, which is
        what costs most there). Same result."""
        buffer, kernel, bias = self.buffers[k], self.kernels[k], self.convs[k].bias
        kh, kw = self.convs[k].kernel_size
        n = buffer.shape[0]
        if n < 256:
            return torch.addmm(bias, buffer[:, r : r + kh, c : c + kw].reshape(n, -1), kernel)
        rows = kernel.view(kh, -1, kernel.shape[1])
        out = torch.addmm(bias, buffer[:, r, c : c + kw].flatten(1), rows[0])
        for i in range(1, kh):
            out.addmm_(buffer[:, r + i, c : c + kw].flatten(1), rows[i])
        return out

    def _store(self, k: int, r: int, c: int, value: torch.Tensor) -> None:
        conv = self.convs[k]
        self.buffers[k][:, r + conv.rows_above, c + conv.kernel_size[1] // 2] = value

    def set_pixel(self, r: int, c: int, value: torch.Tensor) -> None:
        """x at (r, c) is now `value` (N,)."""
        self._store(0, r, c, value[:, None])

    def _biases(self, r: int, c: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The conditioning biases at (r, c), after the input layer and after the last block: (N, C) each, or None."""
        if self.features is None:
            return None, None
        weight, bias = self.condition
        first, last = torch.addmm(bias, self.features[:, r, c], weight).chunk(2, 1)
        return first, last

    def step(self, r: int, c: int, logit: bool) -> torch.Tensor | None:
        """Compute position (r, c) of every layer (every input before it in raster order is final); return the
        logit (N,) of pixel (r, c) if `logit`."""
        first, last = self._biases(r, c)
        h = self._conv_at(0, r, c)
        if first is not None:
            h += first
        for k, (weight, bias) in enumerate(self.mix, start=1):
            self._store(k, r, c, F.relu(h))
            h = torch.addmm(h, self._conv_at(k, r, c).relu_(), weight).add_(bias)
        if last is not None:
            h += last
        if not logit:
            return None
        (w1, b1), (w2, b2) = self.head
        return torch.addmm(b2, torch.addmm(b1, h.relu_(), w1).relu_(), w2)[:, 0]


def _check_repeats(repeats: int) -> None:
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int (completions per image), got {repeats!r}")


@torch.no_grad()
def sample_and_score(
    model: PixelCNN,
    x: torch.Tensor,
    known: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    conditional: bool = False,
    repeats: int = 1,
    score: bool = True,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`repeats` completions of each binary image x (N, 1, H, W), in raster order with cached activations: a tensor
    (N * repeats, 1, H, W), completions of image i in rows i * repeats ..., and, if `score`, the log-likelihood the
    model gives each completion's *observed* pixels, sum over observed i of log p(x_i | x_<i) (N * repeats,): the
    importance weight of a raster completion for sampling-importance-resampling.

    Same completions as the definition, `pixelcnn.inpaint` (with `conditional`: of `conditional.Told`), on
    `x.repeat_interleave(repeats, 0)`. `labels` (N * repeats,), with
    `conditional`: the digit each completion is told to be.
    """
    check_known(x, known)
    _check_repeats(repeats)
    if score and conditional:
        raise ValueError("score is the joint model's likelihood of the observed pixels: use it with conditional=False")
    if labels is not None and not conditional:
        raise ValueError("labels are told to a conditional PixelCNN: use them with conditional=True")
    model.eval()
    x, known = x.repeat_interleave(repeats, 0), known.repeat_interleave(repeats, 0)
    u = _uniforms(x, generator)
    is_hole = (~known)[:, 0].any(0)  # (H, W): a hole in some image
    where = is_hole.flatten().nonzero().flatten()
    if where.numel() == 0:
        return x.clone(), (model.log_prob(x) if score else None)  # every pixel observed
    height, width = x.shape[2:]
    visit = range(int(where[0]) // width * width, height * width if score else int(where[-1]) + 1)
    shared = repeats if labels is None else 1  # an image's completions share its cached prefix unless told labels
    run = functools.partial(
        sample_rows, model, is_hole=is_hole.tolist(), visit=visit, conditional=conditional, shared=shared, score=score
    )
    parts = [
        run(x[rows], known[rows], u[rows], labels=None if labels is None else labels[rows])
        for rows in row_chunks(model, x, shared)
    ]
    return torch.cat([out for out, _ in parts]), torch.cat([s for _, s in parts]) if score else None


CACHE_BYTES_CPU = 2**30


def row_chunks(model: PixelCNN, x: torch.Tensor, shared: int = 1) -> list[slice]:
    """Slices of the rows of x (N, 1, H, W) to sample together, in whole groups of `shared` (`chunk_rows`)."""
    size = chunk_rows(model, x, shared)
    return [slice(i, i + size) for i in range(0, x.shape[0], size)]


def chunk_rows(model: PixelCNN, x: torch.Tensor, shared: int = 1) -> int:
    """How many rows of x (N, 1, H, W) to sample at once, in whole groups of `shared`: as many as keep the activation
    cache (every masked convolution's padded input) within a GiB on a CPU, a quarter of the free memory on a GPU.
    Sampling all completions of a thousand digits at once could otherwise exhaust the memory."""
    height, width = x.shape[2:]
    convs = [model.input] + [block.conv for block in model.blocks]
    row = sum((height + c.kernel_size[0] - 1) * (width + c.kernel_size[1] - 1) * c.in_channels for c in convs)
    budget = torch.cuda.mem_get_info(x.device)[0] // 4 if x.device.type == "cuda" else CACHE_BYTES_CPU
    return max(1, budget // (row * x.element_size() * shared)) * shared


def sample_rows(
    model: PixelCNN,
    x: torch.Tensor,
    known: torch.Tensor,
    u: torch.Tensor,
    *,
    is_hole: list[list[bool]],
    visit: range,
    conditional: bool = False,
    shared: int = 1,
    labels: torch.Tensor | None = None,
    score: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`sample_and_score` on rows x (whole groups of `shared` completions of one image) with uniforms u, visiting the
    raster positions `visit` (the same for every chunk of rows, so a chunk's samples and scores are those of the
    whole); `is_hole` [H][W]: a hole in some image. Returns the completed rows and the observed pixels' log p."""
    hole, width = ~known, x.shape[3]
    distinct = slice(None, None, shared)
    condition = _condition(model, known[distinct], conditional)
    cache = _ActivationCache(model, x[distinct], condition, visit.start // width, shared, labels)
    x, log_observed = x.clone(), cache.prefix_log_prob
    with _threads_for(cache):
        for index in visit:
            r, c = divmod(index, width)
            logit = cache.step(r, c, logit=score or is_hole[r][c])
            if is_hole[r][c]:
                draw = (u[:, 0, r, c] < torch.sigmoid(logit)).to(x.dtype)
                x[:, 0, r, c] = torch.where(hole[:, 0, r, c], draw, x[:, 0, r, c])
                cache.set_pixel(r, c, x[:, 0, r, c])
            if score:
                log_p = -F.binary_cross_entropy_with_logits(logit, x[:, 0, r, c], reduction="none")
                log_observed = log_observed + log_p * known[:, 0, r, c]
    return x, log_observed


def _threads_for(cache: _ActivationCache) -> contextlib.AbstractContextManager[None]:
    """One CPU thread for a step smaller than `SERIAL_STEP_MACS`; torch's threads otherwise (and on a GPU)."""
    serial = cache.buffers[0].device.type == "cpu" and cache.step_macs < SERIAL_STEP_MACS
    return intra_op_threads(1 if serial else None)


def sample_holes(
    model: PixelCNN,
    x: torch.Tensor,
    known: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    conditional: bool = False,
    repeats: int = 1,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """`repeats` completions of each binary image x (N, 1, H, W): (N * repeats, 1, H, W); see `sample_and_score`.
    With `conditional`, a conditional PixelCNN samples from p(x_i | x_<i, x_observed, y), told the digits y in
    `labels` (N * repeats,) if given; else from p(x_i | x_<i)."""
    out, _ = sample_and_score(
        model, x, known, generator=generator, conditional=conditional, repeats=repeats, score=False, labels=labels
    )
    return out


@torch.no_grad()
def sample(model: PixelCNN, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """n samples x ~ p(x), float {0, 1} (n, 1, 28, 28): `pixelcnn.sample` with the cached sampler (the same
    samples for the same generator)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    return sample_holes(model, *_nothing_observed(model, n), generator=generator)


def _nothing_observed(model: PixelCNN, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n blank images (n, 1, 28, 28) on the model's device and their mask, every pixel a hole."""
    x = torch.zeros(n, *IMAGE_SHAPE, device=next(model.parameters()).device)
    return x, torch.zeros_like(x, dtype=torch.bool)


@torch.no_grad()
def sample_told(model: PixelCNN, labels: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """One sample of p(x | y) per told digit y in `labels` (n,): float {0, 1} (n, 1, 28, 28), every pixel a hole of
    a conditional PixelCNN told y (a class-conditional PixelCNN)."""
    if not isinstance(model, ConditionalPixelCNN):
        raise ValueError("sampling told digits needs a conditional.ConditionalPixelCNN")
    x, nothing = _nothing_observed(model, labels.shape[0])
    return sample_holes(model, x, nothing, generator=generator, conditional=True, labels=labels.to(x.device))


@torch.no_grad()
def sample_label_mixture(
    model: PixelCNN, n: int, label_prior: torch.Tensor, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples of the label mixture p(x) = sum over y of pi(y) p(x | y): y ~ pi (`label_prior` (10,)), then
    x ~ p(x | y) by `sample_told`. Returns the images (n, 1, 28, 28) and the digit each was told (n,)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    check_label_prior(label_prior)
    labels = torch.multinomial(label_prior, n, replacement=True, generator=generator)
    return sample_told(model, labels, generator=generator), labels
