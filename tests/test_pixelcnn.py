"""PixelCNN (plain, `pixelcnn.PixelCNN`) and its conditional extension (`conditional.ConditionalPixelCNN`): exact
causality of every layer type and of the whole model, likelihood, sampling, input checks."""

from __future__ import annotations

import functools
import math

import pytest
import torch
import torch.nn.functional as F

from asgn2 import checks, conditional, data, inpainting, pixelcnn, runtime, sampler
from asgn2.conditional import ConditionalPixelCNN, ConditionalSpec, ConditionConfig, hole_log_prob
from asgn2.holes import hole_mask
from asgn2.pixelcnn import MaskedConv2d, PixelCNN, PixelCNNConfig, PixelCNNSpec, ResidualBlock
from asgn2.recogniser import RecogniserSpec
from asgn2.training import TrainConfig

H = W = 28


def output_input_jacobian(layer, channels: int = 1, size: int = H, trials: int = 3) -> torch.Tensor:
    """sum over `trials` random inputs in [0, 1] of |d out_i / d x_j| (out summed over channels), pixels in raster
    order: (size^2, size^2). A dependence is structural if it shows at any input (a ReLU can hide it at one);
    a forbidden entry must be exactly zero at every input.

    One backward pass per trial: the input is repeated once per output pixel k, and row k of the batch gradient
    is d out_k / d x (batch elements do not interact)."""
    n = size * size
    total = torch.zeros(n, n)
    for _ in range(trials):
        x = torch.rand(1, channels, size, size).repeat(n, 1, 1, 1).requires_grad_(True)
        out = layer(x).sum(1).flatten(1)  # (n, n)
        out.diagonal().sum().backward()
        total += x.grad.sum(1).flatten(1).abs()
    return total


@pytest.fixture
def continuous_input(monkeypatch):
    """Gradients are taken at inputs in [0, 1]: lift the models' check for binary input in these tests (the plain
    network's forward and the conditional one's)."""
    monkeypatch.setattr("asgn2.pixelcnn.check_binary_images", lambda x: None)
    monkeypatch.setattr("asgn2.conditional.check_binary_images", lambda x: None)


CONFIG = PixelCNNConfig(channels=8, n_blocks=3, head_channels=8, kernel_size=3)
CONDITION = ConditionConfig(channels=4)


def conditional_model() -> ConditionalPixelCNN:
    return ConditionalPixelCNN(CONFIG, CONDITION)


def make_model(kind: str, config: PixelCNNConfig = CONFIG) -> PixelCNN:
    """A plain PixelCNN or a conditional one (used untold, nothing observed) of the same network sizes."""
    return PixelCNN(config) if kind == "plain" else ConditionalPixelCNN(config, CONDITION)


def random_weights(module: torch.nn.Module) -> torch.nn.Module:
    """Random weights with no zeros that could hide a dependence, and positive biases so most ReLUs are active."""
    torch.manual_seed(0)
    for name, p in module.named_parameters():
        p.data.normal_(0, 0.5) if name.endswith("weight") else p.data.uniform_(0.5, 1.0)
    return module


class SummedChannels(torch.nn.Module):
    """A layer's output summed over its channels: one value per pixel, the shape `checks.causality` takes."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x).sum(1, keepdim=True)


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("kernel_size", [3, 7])
def test_masked_conv_is_causal(mask_type, kernel_size):
    """`asgn2.checks`: exactly the taps of mask `mask_type` (the impulse response: the rows above, the centre row
    left of the centre, and the centre for B), and no output pixel depends on a later input pixel (nor on itself
    for A) over the whole 28 x 28 image, borders included."""
    conv = random_weights(MaskedConv2d(1, 4, kernel_size, mask_type))
    checks.require(checks.masked_conv(conv, mask_type))
    checks.require(checks.causality(SummedChannels(conv), centre_allowed=mask_type == "B"))


def test_residual_block_is_causal_with_centre():
    block = random_weights(ResidualBlock(1, 3))
    verdict = checks.causality(block, centre_allowed=True)
    checks.require(verdict)
    assert verdict.evidence.diagonal().all()  # mask B and the skip connection see the centre


@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_full_model_is_causal_over_all_784_pixels(kind):
    """The plain network, and the conditional one untold with nothing observed (`model(x)`): a PixelCNN of p(x).
    `asgn2.checks`: causality over the 784 x 784 Jacobian, p(block | before) sums to 1, and for the plain network
    mask A in the first layer and mask B in every later one."""
    model = random_weights(make_model(kind))
    verdict = checks.causality(model)
    checks.require(verdict, checks.normalisation(model))
    if kind == "plain":
        checks.require(checks.mask_types(model))
    sees = verdict.evidence  # (784, 784): logit i depends on input j
    i, j = torch.meshgrid(torch.arange(H * W), torch.arange(H * W), indexing="ij")
    assert sees[1:].any(1).all()  # every pixel but the first sees something
    # the receptive field reaches exactly `rows_above` rows up, and the pixels just above and just left
    row_i, row_j = i // W, j // W
    assert not sees[row_j < row_i - model.rows_above].any()
    centre = 20 * W + 14
    assert sees[centre, centre - 1] and sees[centre, centre - W]
    assert sees[centre][(row_j[centre] == 20 - model.rows_above)].any()


@pytest.mark.parametrize(("kind", "told"), [("brush", None), ("top", None), ("ring", None), ("top", 3), ("ring", 8)])
def test_conditional_model_is_causal_in_the_hole_and_sees_every_observed_pixel(continuous_input, kind, told):
    """logit_i of a hole pixel depends on no hole pixel at or after i, and on every observed pixel, before or after;
    also when the model is told which digit to draw."""
    model = random_weights(conditional_model())
    known = hole_mask(kind, 1, seed=2)
    labels = lambda x: None if told is None else torch.full((x.shape[0],), told)  # noqa: E731
    jac = output_input_jacobian(lambda x: model(x, known.expand_as(x), labels(x)))
    hole = (~known).flatten()
    i, j = torch.meshgrid(torch.arange(H * W), torch.arange(H * W), indexing="ij")
    forbidden = hole[i] & hole[j] & (j >= i)
    assert jac[forbidden].abs().max() == 0
    sees = jac[hole] != 0  # (hole pixels, inputs)
    assert sees[:, known.flatten()].all()  # every observed pixel, wherever it is
    assert sees[:, hole].any()  # and earlier hole pixels: the masked path


def test_told_is_the_conditional_network_with_its_condition_fixed():
    """`conditional.Told(model, known, labels)`, the model that `pixelcnn.inpaint` draws conditional completions
    from, is model(x, known, labels) exactly, whatever x."""
    model = random_weights(conditional_model()).eval()
    x = (torch.rand(3, 1, H, W, generator=torch.Generator().manual_seed(5)) < 0.3).float()
    known, labels = hole_mask("ring", 3, seed=1), torch.tensor([4, -1, 0])
    told = conditional.Told(model, known, labels)
    for y in (x, 1 - x):
        assert torch.equal(told(y), model(y, known, labels))
    assert torch.equal(conditional.Told(model, known)(x), model(x, known))


def test_conditional_model_with_every_pixel_a_hole_is_a_pixelcnn(continuous_input):
    model = random_weights(conditional_model())
    nothing = torch.zeros(1, 1, H, W, dtype=torch.bool)
    jac = output_input_jacobian(lambda x: model(x, nothing.expand_as(x)))
    i, j = torch.meshgrid(torch.arange(H * W), torch.arange(H * W), indexing="ij")
    assert jac[j >= i].abs().max() == 0 and (jac[j < i] != 0).any()  # the raster-order factorisation of p(x)
    x = (torch.rand(4, 1, H, W) < 0.3).float()
    assert torch.equal(model(x), model(x, nothing.expand_as(x)))
    assert torch.allclose(hole_log_prob(model, x, nothing.expand_as(x)), model.log_prob(x))
    assert torch.allclose(conditional.raster_hole_log_prob(model, x, nothing.expand_as(x)), model.log_prob(x))


def test_raster_hole_log_prob_of_a_plain_pixelcnn_sums_the_hole_pixels_terms():
    """log p(x_hole | x_before): the hole pixels' terms of the plain network's per-pixel log-likelihoods; with every
    pixel a hole it is log p(x), with none it is 0, and hole and observed part add up to log p(x)."""
    model = random_weights(PixelCNN(CONFIG)).eval()
    x = (torch.rand(4, 1, H, W, generator=torch.Generator().manual_seed(6)) < 0.3).float()
    known = hole_mask("brush", 4, seed=3)
    with torch.no_grad():
        logits = model(x)
        terms = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
        hole = conditional.raster_hole_log_prob(model, x, known)
        assert torch.allclose(hole, (terms * ~known).flatten(1).sum(1), atol=1e-4)
        nothing, everything = torch.zeros_like(known), torch.ones_like(known)
        assert torch.allclose(conditional.raster_hole_log_prob(model, x, nothing), model.log_prob(x), atol=1e-4)
        assert torch.equal(conditional.raster_hole_log_prob(model, x, everything), torch.zeros(4))
        observed = conditional.raster_hole_log_prob(model, x, ~known)
        assert torch.allclose(hole + observed, model.log_prob(x), atol=1e-3)
    with pytest.raises(ValueError, match="known must be a bool tensor"):
        conditional.raster_hole_log_prob(model, x, known.float())


def test_exact_hole_nll_is_the_sum_of_the_per_pixel_terms():
    """One pass gives log p(x_hole | x_obs); pixel by pixel, each hole pixel's term is computed with every later
    hole pixel replaced by noise: the same sum, because nothing at or after a pixel enters its logit."""
    model = random_weights(conditional_model()).eval()
    x = (torch.rand(2, 1, H, W, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    known = hole_mask("centre", 2)
    one_pass = hole_log_prob(model, x, known)
    total = torch.zeros(2)
    noise = (torch.rand(x.shape, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    hole = (~known)[0, 0]
    for index in hole.flatten().nonzero().flatten().tolist():
        r, c = divmod(index, W)
        later = (~known) & (torch.arange(H * W).view(1, 1, H, W) >= index)
        logit = model(torch.where(later, noise, x), known)[:, 0, r, c]
        total += -F.binary_cross_entropy_with_logits(logit, x[:, 0, r, c], reduction="none")
    assert torch.allclose(one_pass, total, atol=1e-4)


def test_a_told_label_replaces_the_recognisers_probabilities():
    model = random_weights(conditional_model()).eval()
    x = (torch.rand(3, 1, H, W, generator=torch.Generator().manual_seed(3)) < 0.3).float()
    known = hole_mask("top", 3)
    assert torch.equal(model(x, known, torch.full((3,), -1)), model(x, known))  # -1: nothing told
    told = model(x, known, torch.tensor([2, -1, 7]))
    assert torch.equal(told[1], model(x, known)[1]) and not torch.equal(told[0], model(x, known)[0])
    probs = conditional.label_probabilities(torch.zeros(2, 10), torch.tensor([4, -1]))
    assert probs[0].tolist() == F.one_hot(torch.tensor(4), 10).float().tolist() and torch.allclose(
        probs[1], 0.1 * torch.ones(10)
    )
    with pytest.raises(ValueError, match="labels must be"):
        model(x, known, torch.tensor([1, 2, 10]))
    with pytest.raises(ValueError, match="labels must be a long tensor"):
        model(x, known, torch.tensor([1.0, 2.0, 3.0]))


def mixture_model() -> ConditionalPixelCNN:
    """A conditional model whose recogniser is far from certain and whose told digit matters (default init, the
    recogniser's and the label embedding's last layers scaled up): a mixture with several live components."""
    torch.manual_seed(0)
    model = conditional_model()
    model.condition.embed.weight.data *= 20
    model.condition.recognise.body[-1].weight.data *= 100
    return model.eval()


def test_label_mixture_likelihood_is_a_distribution_over_the_hole(monkeypatch):
    """p(x_hole | x_obs) = sum_y r(y | x_obs) p(x_hole | x_obs, y), ten passes: summed over every value of a
    four-pixel hole it is 1 (the label and the observed pixels never see a hole pixel), and each told term alone
    also sums to 1. A recogniser that peeks at the hole pixels breaks it (the negative control)."""
    model = mixture_model()
    x = (torch.rand(1, 1, H, W, generator=torch.Generator().manual_seed(4)) < 0.3).float()
    known = torch.ones_like(x, dtype=torch.bool)
    hole = [(5, 9), (5, 10), (12, 3), (20, 20)]
    for r, c in hole:
        known[0, 0, r, c] = False
    filled = x.repeat(16, 1, 1, 1)
    for value in range(16):
        for bit, (r, c) in enumerate(hole):
            filled[value, 0, r, c] = float(value >> bit & 1)
    known16 = known.expand_as(filled)
    with torch.no_grad():
        log_r = model.class_log_posterior(filled, known16)
        mixture = conditional.mixture_hole_log_prob(model, filled, known16)
        told = [hole_log_prob(model, filled, known16, labels=torch.full((16,), y)) for y in range(10)]
    assert torch.allclose(log_r, log_r[:1].expand_as(log_r))  # r sees the observed pixels only
    assert log_r.exp().max() < 0.9 and mixture.exp().max() < 0.5  # neither r nor the hole is a certainty
    assert torch.logsumexp(mixture, 0).item() == pytest.approx(0.0, abs=1e-5)
    for term in told:
        assert torch.logsumexp(term, 0).item() == pytest.approx(0.0, abs=1e-5)
    assert (told[0] - told[6]).abs().max() > 0.1  # the told digit matters

    def peeking(x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return model.condition.recognise(x, torch.ones_like(known)).log_softmax(1)

    monkeypatch.setattr(model, "class_log_posterior", peeking)
    with torch.no_grad():
        leaky = conditional.mixture_hole_log_prob(model, filled, known16)
    assert abs(torch.logsumexp(leaky, 0).item()) > 1e-4


def test_training_tells_the_true_label_to_a_fraction_of_the_digits(monkeypatch):
    model = random_weights(conditional_model())
    seen = {}
    original = model.logits

    def spy(x, known, labels):
        seen.update(known=known, labels=labels)
        return original(x, known, labels)

    monkeypatch.setattr(model, "logits", spy)
    images = torch.randint(0, 256, (200, 1, H, W), dtype=torch.uint8)
    labels = torch.randint(0, 10, (200,))
    torch.manual_seed(0)
    conditional.conditional_loss(model, (images, labels), p_all_holes=0.5, p_label_fed=0.5)
    told = seen["labels"] >= 0
    assert torch.equal(seen["labels"][told], labels[told]) and (seen["labels"][~told] == -1).all()
    assert 70 < told.sum() < 130  # about half, digits with every pixel a hole among them
    assert (told & ~seen["known"].flatten(1).any(1)).any()


@pytest.mark.parametrize("config", ["plain", "conditional"])
def test_bf16_training_runs_the_forward_pass_in_bf16_and_keeps_float32_weights(config, monkeypatch):
    """`runtime.bf16_training` (forced on: this CPU may have no fast bf16): the network's convolutions compute in
    bfloat16 (seen by a hook on the layers themselves), the loss and the gradients stay float32 and close to the
    float32 ones for the same seed (same binarization, holes and told labels), and the weights leave channels-last."""
    monkeypatch.setenv("ASGN2_BF16", "1")
    plain = PixelCNNConfig(channels=8, n_blocks=2, head_channels=8, kernel_size=3)
    model = random_weights(conditional_model() if config == "conditional" else PixelCNN(plain))
    images = torch.randint(0, 256, (16, 1, H, W), dtype=torch.uint8)
    if config == "conditional":  # the old defaults of the conditional loss: half all-hole digits, 3/4 told
        batch = (images, torch.randint(0, 10, (16,)))
        loss_fn = functools.partial(conditional.conditional_loss, p_all_holes=0.5, p_label_fed=0.75)
    else:
        batch, loss_fn = images, pixelcnn.pixelcnn_loss
    dtypes = []
    model.blocks[0].conv.register_forward_hook(lambda module, inputs, out: dtypes.append(out.dtype))
    losses, grads = [], []
    for bf16 in (False, True):
        torch.manual_seed(0)
        model.zero_grad()
        with runtime.bf16_training(model, "cpu", bf16) as precision:
            assert model.blocks[0].conv.weight.is_contiguous(memory_format=torch.channels_last) == bf16
            loss = precision(loss_fn)(model, batch)
            loss.backward()
        losses.append(loss)
        grads.append(model.input.weight.grad.clone())
    assert dtypes == [torch.float32, torch.bfloat16]
    assert losses[1].dtype == torch.float32 and grads[1].dtype == torch.float32
    assert losses[1].item() == pytest.approx(losses[0].item(), rel=0.02) and losses[1].item() != losses[0].item()
    assert torch.nn.functional.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0) > 0.98
    assert all(p.is_contiguous() for p in model.parameters())


def test_fast_bf16_is_for_cpus_with_amx_or_avx512_bf16_unless_told(monkeypatch):
    monkeypatch.delenv("ASGN2_BF16", raising=False)
    assert runtime.fast_bf16("cuda") is False  # fp32 is what was checked on GPUs
    # (that training then computes in bf16, or not: tests/test_entry_points.py, through train_pixelcnn)
    for amx, avx512_bf16 in ((False, False), (True, False), (False, True)):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda amx=amx: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda b=avx512_bf16: b)
        assert runtime.fast_bf16("cpu") is (amx or avx512_bf16)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")  # an older torch without the probe: no
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert runtime.fast_bf16("cpu") is False
    for flag, expected in (("0", False), ("1", True)):
        monkeypatch.setenv("ASGN2_BF16", flag)
        assert runtime.fast_bf16("cpu") is expected and runtime.fast_bf16("cuda") is expected


def test_a_plain_pixelcnn_refuses_observed_pixels():
    """A plain PixelCNN is a model of x alone: its forward takes no observed pixels or labels, and what conditions on
    them (conditional sampling, told digits, the label mixture) refuses it."""
    model = PixelCNN(PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3))
    assert not isinstance(model, ConditionalPixelCNN) and not hasattr(model, "condition")
    x = torch.zeros(1, 1, H, W)
    known = torch.ones_like(x, dtype=torch.bool)
    known[0, 0, 20:] = False
    with pytest.raises(TypeError):
        model(x, known)
    with pytest.raises(ValueError, match="needs a conditional.ConditionalPixelCNN"):
        sampler.sample_holes(model, x, known, conditional=True)
    with pytest.raises(ValueError, match="needs a conditional.ConditionalPixelCNN"):
        sampler.sample_told(model, torch.tensor([3]))
    with pytest.raises(ValueError, match="needs a conditional.ConditionalPixelCNN"):
        inpainting.label_mixture(model, x, known)


def test_layer_errors():
    with pytest.raises(ValueError, match="mask_type must be 'A' or 'B'"):
        MaskedConv2d(1, 1, 3, "C")
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2d(1, 1, 4, "A")


def test_mask_is_a_buffer_applied_in_forward():
    """The mask is a buffer (not trained), and forward uses weight * mask: changing a masked-out weight changes
    nothing, changing a used one changes the output, and the output is the plain convolution with the masked
    full k x k kernel."""
    torch.manual_seed(0)
    conv = MaskedConv2d(2, 3, 5, "A")
    assert "mask" in dict(conv.named_buffers()) and "mask" not in dict(conv.named_parameters())
    assert conv.full_mask().tolist()[2] == [1, 1, 0, 0, 0] and conv.full_mask()[3:].sum() == 0
    x = torch.rand(1, 2, 9, 9)
    full = torch.zeros(3, 2, 5, 5)
    full[:, :, :3] = conv.weight.detach() * conv.mask
    assert torch.allclose(conv(x), F.conv2d(x, full, conv.bias, padding=2), atol=1e-6)
    before = conv(x)
    with torch.no_grad():
        conv.weight[:, :, 2, 2:] += 1.0  # the centre and right of it: masked for type A
    assert torch.equal(conv(x), before)
    with torch.no_grad():
        conv.weight[:, :, 2, 1] += 1.0  # left of the centre: used
    assert not torch.allclose(conv(x), before)


@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_log_prob_is_summed_bernoulli_likelihood(kind):
    model = random_weights(make_model(kind, PixelCNNConfig(channels=8, n_blocks=2, head_channels=8, kernel_size=3)))
    x = (torch.rand(5, 1, H, W) < 0.3).float()
    logits = model(x)
    manual = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).flatten(1).sum(1)
    assert model.log_prob(x).shape == (5,)
    assert torch.allclose(model.log_prob(x), manual, atol=1e-3, rtol=1e-5)


@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_sample_is_binary_and_reproducible(kind):
    """`pixelcnn.sample`, the definition (inpainting with every pixel a hole), and the cached `sampler.sample` draw
    the same samples for the same generator."""
    model = make_model(kind, PixelCNNConfig(channels=8, n_blocks=2, head_channels=8, kernel_size=3))
    a = sampler.sample(model, 3, generator=torch.Generator().manual_seed(0))
    b = sampler.sample(model, 3, generator=torch.Generator().manual_seed(0))
    assert a.shape == (3, 1, 28, 28) and torch.equal(a, b)
    assert not torch.equal(a, sampler.sample(model, 3, generator=torch.Generator().manual_seed(1)))
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(pixelcnn.sample(model, 3, generator=torch.Generator().manual_seed(0)), a)
    for sample in (pixelcnn.sample, sampler.sample):
        with pytest.raises(ValueError, match="positive number of samples"):
            sample(model, 0)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.full((2, 1, H, W), 0.5), r"values in \{0, 1\}"),
        (torch.zeros(2, H, W), r"\(N, 1, H, W\)"),
        (torch.zeros(2, 1, H, W, dtype=torch.uint8), "binary float"),
    ],
)
def test_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        PixelCNN(PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3))(x)
    with pytest.raises(ValueError, match=match):
        ConditionalPixelCNN(PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3), CONDITION)(x)


@pytest.mark.mnist
@pytest.mark.parametrize("bf16", ["0", "1"])
@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_short_training_lowers_test_nll(mnist_train, mnist_test, monkeypatch, kind, bf16):
    """A plain PixelCNN trained on its own on the images (`pixelcnn.train_pixelcnn`), and the conditional one with
    its recogniser (`conditional.train_conditional`, judged untold with nothing observed): in float32, and in bf16
    autocast with channels-last weights (forced: `fast_bf16` may say no on this CPU), which hands back a model in
    the default layout."""
    monkeypatch.setenv("ASGN2_BF16", bf16)
    config = PixelCNNConfig(channels=16, n_blocks=2, head_channels=16, kernel_size=3)
    steps = TrainConfig(max_steps=40, batch_size=64, lr=3e-3, warmup_steps=5, bf16=True)
    if kind == "plain":
        spec = PixelCNNSpec(f"test-{bf16}", config, steps, eval_images=300)
        untrained = PixelCNN(spec.model)
        train = functools.partial(pixelcnn.train_pixelcnn, spec, mnist_train[0], mnist_test[0])
    else:
        recogniser = RecogniserSpec("test", TrainConfig(max_steps=20, batch_size=64, lr=3e-3), width=8)
        spec = ConditionalSpec(
            f"test-{bf16}", config, ConditionConfig(channels=4, recogniser_width=8), steps, recogniser, eval_images=300
        )
        untrained = ConditionalPixelCNN(spec.model, spec.condition)
        train = functools.partial(conditional.train_conditional, spec, mnist_train, mnist_test)
    test_x = data.eval_binarization(mnist_test[0][:300])
    before = pixelcnn.test_nll(untrained, test_x)
    model, history = train()
    assert type(model) is type(untrained)
    trained = pixelcnn.test_nll(model, test_x)
    assert math.isfinite(trained) and math.isfinite(before)
    assert history.steps == 40 and trained < before - 100  # ~543 nats at init (784 ln 2); far less after
    assert all(p.is_contiguous() for p in model.parameters())
    assert history.evals[-1]["test_nll"] == pytest.approx(trained, rel=1e-4)
    assert F.binary_cross_entropy_with_logits(model(test_x), test_x).item() * 784 == pytest.approx(trained, rel=1e-3)
    again, cached = train()  # the finished run is reused
    assert cached.step_loss == history.step_loss
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values(), strict=True))


def test_a_conditional_model_started_from_a_plain_one_is_that_pixelcnn():
    """`conditional.start_from`: the plain network's layers, the conditioning bias zero, so that whatever is observed
    or told, the conditional model's logits are the plain PixelCNN's; its conditioning network is untouched."""
    plain = random_weights(PixelCNN(CONFIG)).eval()
    model = conditional_model().eval()
    condition = {k: v.clone() for k, v in model.condition.state_dict().items()}
    conditional.start_from(model, plain)
    x = (torch.rand(3, 1, H, W, generator=torch.Generator().manual_seed(8)) < 0.3).float()
    known = hole_mask("top", 3, seed=1)
    with torch.no_grad():
        assert torch.allclose(model(x), plain(x), atol=1e-6)
        assert torch.allclose(model(x, known, torch.tensor([1, -1, 7])), plain(x), atol=1e-6)
        assert torch.allclose(model.log_prob(x), plain.log_prob(x), atol=1e-4)
    assert all(torch.equal(v, model.condition.state_dict()[k]) for k, v in condition.items())
    with pytest.raises(ValueError, match="not the same network"):
        conditional.start_from(model, PixelCNN(PixelCNNConfig(channels=8, n_blocks=2, head_channels=8, kernel_size=3)))


def test_the_conditional_model_refuses_images_that_are_not_28_by_28():
    """A 32 x 32 image used to reach the recogniser and die in a matrix product; the plain network, which has no
    layer tied to the size, still takes it."""
    x = torch.zeros(2, 1, 32, 32)
    with pytest.raises(ValueError, match="28 x 28"):
        conditional_model()(x, torch.ones_like(x, dtype=torch.bool))
    with pytest.raises(ValueError, match="28 x 28"):
        conditional_model()(x)
    plain = PixelCNN(PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3))
    assert plain(x).shape == (2, 1, 32, 32)
