"""Generation through the digit the network can be told: the PixelCNN's label mixture p(x) = sum_y pi(y) p(x | y)
and the Real NVP's per-digit Gaussian base. Exact checks: the mixtures are their formulas, they are normalised, a
sample told y comes from component y, and one standard component is the plain flow."""

from __future__ import annotations

import math

import pytest
import torch

from asgn2 import conditional, digit_base, realnvp, sample_scores, sampler
from asgn2.classifier import MnistClassifier, predict
from asgn2.conditional import ConditionalPixelCNN, ConditionConfig
from asgn2.data import label_frequencies
from asgn2.digit_base import DiagonalGaussianMixture, fit_digit_base
from asgn2.flows import Composite, Flow
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.realnvp import AffineCoupling, RealNVPConfig, real_nvp

CONDITIONAL = PixelCNNConfig(channels=8, n_blocks=3, head_channels=8, kernel_size=3)
CONDITION = ConditionConfig(channels=4)
PRIOR = torch.tensor([0.05, 0.15, 0.1, 0.1, 0.2, 0.05, 0.1, 0.1, 0.05, 0.1])


def told_model() -> ConditionalPixelCNN:
    """A conditional PixelCNN whose told digit matters: random digit maps and a scaled-up label embedding."""
    torch.manual_seed(0)
    model = ConditionalPixelCNN(CONDITIONAL, CONDITION)
    with torch.no_grad():
        model.condition.digit_map.normal_(std=2.0)
        model.condition.embed.weight.mul_(20)
    return model.eval()


def binary(n: int, seed: int) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


# ------------------------------------------------------------------------------------------------------ PixelCNN


def test_label_mixture_log_prob_is_the_log_sum_of_the_told_terms():
    """log p(x) = logsumexp_y (log pi(y) + log p(x | y)), p(x | y) the network told y with every pixel a hole."""
    model, x = told_model(), binary(3, 1)
    nothing = torch.zeros_like(x, dtype=torch.bool)
    with torch.no_grad():
        mixture = conditional.label_mixture_log_prob(model, x, PRIOR)
        terms = [
            conditional.pixel_log_probs(model, x, nothing, torch.full((3,), y)).flatten(1).sum(1) for y in range(10)
        ]
    expected = torch.tensor(
        [math.log(sum(PRIOR[y].item() * math.exp(terms[y][n].item()) for y in range(10))) for n in range(3)]
    )
    assert torch.allclose(mixture, expected, atol=1e-3, rtol=0)
    assert (terms[0] - terms[4]).abs().min() > 1.0  # the told digit matters: a real mixture, not one term ten times
    with torch.no_grad():
        nll = conditional.mixture_nll_per_image(model, x, PRIOR)
    assert nll.shape == (3,) and nll.double().mean().item() == pytest.approx(-mixture.mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="label_prior must sum to 1"):
        conditional.label_mixture_log_prob(model, x, PRIOR * 2)


def test_label_mixture_sums_to_one_over_the_last_pixels():
    """Summed over all 2^4 values of the last four pixels (raster order), the mixture's p(x) is the mixture of the
    told marginals of the other 780 pixels: sum_y pi(y) prod_{i < 780} p(x_i | x_<i, y). With each p(. | y) a
    product of conditionals, this is p(x) summing to 1 over every image, checked where it can be enumerated."""
    model, prefix = told_model(), binary(1, 2)
    images = prefix.repeat(16, 1, 1, 1)
    tail = [(27, 24), (27, 25), (27, 26), (27, 27)]
    for value in range(16):
        for bit, (r, c) in enumerate(tail):
            images[value, 0, r, c] = float(value >> bit & 1)
    nothing = torch.zeros_like(prefix, dtype=torch.bool)
    with torch.no_grad():
        total = torch.logsumexp(conditional.label_mixture_log_prob(model, images, PRIOR), 0)
        head = [
            conditional.pixel_log_probs(model, prefix, nothing, torch.tensor([y]))[0, 0].flatten()[:780].sum()
            for y in range(10)
        ]
    marginal = torch.logsumexp(PRIOR.log() + torch.stack(head), 0)
    assert total.item() == pytest.approx(marginal.item(), abs=1e-4)


def test_a_label_mixture_sample_is_the_told_sample_of_its_drawn_digit():
    """sample_label_mixture draws y ~ pi, then x from the network told y: with the same generator, the same digits
    and bit for bit the images sample_told draws for them; told other digits, other images."""
    model = told_model()
    images, labels = sampler.sample_label_mixture(model, 6, PRIOR, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    expected_labels = torch.multinomial(PRIOR, 6, replacement=True, generator=g)
    assert torch.equal(labels, expected_labels)
    assert torch.equal(images, sampler.sample_told(model, expected_labels, generator=g))
    g = torch.Generator().manual_seed(3)
    torch.multinomial(PRIOR, 6, replacement=True, generator=g)
    assert not torch.equal(images, sampler.sample_told(model, (expected_labels + 5) % 10, generator=g))
    assert ((images == 0) | (images == 1)).all() and images.shape == (6, 1, 28, 28)


def test_the_told_digit_reaches_the_first_pixel_through_its_map():
    """The digit map is a bias that depends on the digit and the position: with the summary embedding silenced,
    the first pixel's logit still depends on the told digit, and differently at different positions."""
    model = told_model()
    with torch.no_grad():
        model.condition.embed.weight.zero_()
    x = torch.zeros(10, 1, 28, 28)
    with torch.no_grad():
        logits = model(x, torch.zeros_like(x, dtype=torch.bool), torch.arange(10))[:, 0]
    assert logits[:, 0, 0].std() > 1e-3  # pixel (0, 0), before any pixel is drawn
    assert ((logits[:, 0, 0] - logits[:, 20, 14]) - (logits[0, 0, 0] - logits[0, 20, 14])).abs().max() > 1e-3
    with torch.no_grad():
        model.condition.digit_map.zero_()
        flat = model(x, torch.zeros_like(x, dtype=torch.bool), torch.arange(10))[:, 0]
    assert flat[:, 0, 0].std() < 1e-6  # neither path: the digit is not heard


def test_sample_told_refuses_a_plain_pixelcnn():
    with pytest.raises(ValueError, match="ConditionalPixelCNN"):
        sampler.sample_told(PixelCNN(PixelCNNConfig(channels=4, n_blocks=1)), torch.tensor([1]))


# ------------------------------------------------------------------------------------------------------ Real NVP


def two_d_flow() -> Composite:
    """A 2-D flow of two affine couplings with random, non-identity weights."""
    torch.manual_seed(1)
    couplings = [
        AffineCoupling(torch.tensor([True, False]), hidden=8),
        AffineCoupling(torch.tensor([False, True]), hidden=8),
    ]
    for coupling in couplings:
        torch.nn.init.normal_(coupling.net[-1].weight, std=0.5)
    return Composite(couplings)


def three_components() -> DiagonalGaussianMixture:
    means = torch.tensor([[-1.0, 0.5], [1.5, -1.0], [0.0, 1.5]])
    log_scales = torch.tensor([[-0.3, 0.2], [0.1, -0.5], [0.0, 0.0]])
    return DiagonalGaussianMixture(means, log_scales, torch.tensor([0.2, 0.5, 0.3]))


def integral_over_grid(log_prob, half_width: float = 9.0, steps: int = 601) -> float:
    axis = torch.linspace(-half_width, half_width, steps, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis).float()
    cell = (axis[1] - axis[0]).item() ** 2
    with torch.no_grad():
        return (log_prob(grid).double().exp().sum() * cell).item()


def test_gaussian_mixture_base_is_the_formula_and_integrates_to_one():
    base = three_components()
    assert integral_over_grid(base.log_prob) == pytest.approx(1.0, abs=1e-4)
    z = torch.randn(5, 2)
    direct = torch.stack(
        [
            torch.distributions.Normal(base.means[k], base.log_scales[k].exp()).log_prob(z).sum(1) + base.log_weights[k]
            for k in range(3)
        ],
        1,
    ).logsumexp(1)
    assert torch.allclose(base.log_prob(z), direct, atol=1e-5)


def test_digit_base_flow_density_is_the_formula_and_integrates_to_one():
    """log p(v) = log sum_y pi(y) N(f(v); mu_y, sigma_y^2) + log|det df/dv| (the Jacobian from autograd), and in
    2-D its exp integrates to 1 over the plane (a grid sum)."""
    flow, base = two_d_flow(), three_components()
    model = Flow(flow, base)
    assert integral_over_grid(model.log_prob, half_width=20.0, steps=1601) == pytest.approx(1.0, abs=1e-4)
    v = torch.randn(4, 2)
    for n in range(4):
        jacobian = torch.autograd.functional.jacobian(lambda x: flow(x[None])[0][0], v[n])
        z = flow(v[n : n + 1])[0][0]
        q = sum(
            base.log_weights[k].exp()
            * torch.distributions.Normal(base.means[k], base.log_scales[k].exp()).log_prob(z).sum().exp()
            for k in range(3)
        )
        expected = q.log() + torch.linalg.slogdet(jacobian)[1]
        assert model.log_prob(v[n : n + 1]).item() == pytest.approx(expected.item(), abs=1e-4)
        z_n, log_det = model.transform(v[n : n + 1])  # log p(v | y = 1): component 1 alone
        given = model.base.component_log_prob(z_n)[:, 1] + log_det
        one = torch.distributions.Normal(base.means[1], base.log_scales[1].exp()).log_prob(z).sum()
        assert given.item() == pytest.approx((one + torch.linalg.slogdet(jacobian)[1]).item(), abs=1e-4)


def small_realnvp() -> Flow:
    torch.manual_seed(2)
    model = real_nvp(RealNVPConfig(n_couplings=2, hidden=16))
    for coupling in model.transform.couplings.transforms:
        torch.nn.init.normal_(coupling.net[-1].weight, std=0.01)
    return model.eval()


def test_one_standard_component_is_the_plain_flow():
    flow = small_realnvp()
    v = realnvp.dequantize(torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), torch.Generator().manual_seed(0))
    plain = Flow(flow.transform, DiagonalGaussianMixture.standard(784))
    with torch.no_grad():
        assert torch.allclose(plain.log_prob(v), flow.log_prob(v), rtol=1e-6, atol=1e-3)


def test_a_sample_told_digit_y_comes_from_component_y():
    """At T = 0 the latent of digit y is mu_y exactly (the image is f^-1(mu_y)); at T = 1 with well-separated
    components, every latent is most likely under the component it was told."""
    base = DiagonalGaussianMixture(3.0 * torch.randn(10, 784), 0.1 * torch.randn(10, 784), torch.full((10,), 0.1))
    labels = torch.tensor([0, 3, 3, 9, 5])
    assert torch.equal(base.sample_components(labels, 0.0), base.means[labels])
    z = base.sample_components(labels, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(base.component_log_prob(z).argmax(1), labels)
    flow = small_realnvp()
    model = Flow(flow.transform, base)
    with torch.no_grad():
        mode_images = realnvp.to_images(flow.transform.inverse(base.means[labels])[0])
    assert torch.equal(digit_base.sample_told(model, labels, 0.0), mode_images)
    drawn = realnvp.sample(model, 200, 1.0, torch.Generator().manual_seed(2))
    assert drawn.dtype == torch.uint8 and drawn.shape == (200, 1, 28, 28)
    told, drawn_labels = digit_base.sample_with_labels(model, 200, 1.0, torch.Generator().manual_seed(2))
    assert torch.equal(told, drawn)  # the same draws: y ~ pi, then z ~ N(mu_y, T^2 sigma_y^2)
    assert drawn_labels.shape == (200,) and ((drawn_labels >= 0) & (drawn_labels <= 9)).all()


def test_fit_digit_base_is_the_per_digit_mean_and_variance_of_the_latents():
    """The closed-form maximum-likelihood base: per digit, the mean and (biased) variance of the latents of that
    digit's training images, dequantized once from the "base-fit" stream; the weights the label frequencies."""
    flow = small_realnvp()
    images = torch.randint(0, 256, (60, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    labels = torch.arange(60) % 10
    labels[:7] = 4  # unequal frequencies
    base = fit_digit_base(flow, images, labels, seed=0, batch_size=16)
    from asgn2.randomness import generator

    noise = generator("base-fit", 0)
    with torch.no_grad():
        z = torch.cat([flow.transform(realnvp.dequantize(chunk, noise))[0] for chunk in images.split(16)])
    for y in (0, 4, 9):
        assert torch.allclose(base.means[y], z[labels == y].mean(0), atol=1e-4)
        assert torch.allclose(
            base.log_scales[y].exp() ** 2, z[labels == y].var(0, unbiased=False), rtol=1e-3, atol=1e-5
        )
    assert torch.allclose(base.log_weights.exp(), label_frequencies(labels))
    with pytest.raises(ValueError, match="at least two"):
        fit_digit_base(flow, images[:5], labels[:5])


def test_label_frequencies_and_their_errors():
    assert torch.allclose(
        label_frequencies(torch.tensor([0, 0, 3, 9])), torch.tensor([0.5, 0, 0, 0.25, 0, 0, 0, 0, 0, 0.25])
    )
    with pytest.raises(ValueError, match="digits 0-9"):
        label_frequencies(torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="non-empty int tensor"):
        label_frequencies(torch.tensor([0.0, 1.0]))


def test_told_digit_agreement_counts_per_digit():
    torch.manual_seed(4)
    judge = MnistClassifier(width=2).eval()
    images = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(50) % 10
    predicted = predict(judge, images)
    overall, per_digit = sample_scores.told_digit_agreement(judge, images, labels)
    assert overall == pytest.approx(sum(int(p == y) for p, y in zip(predicted, labels, strict=True)) / 50)
    for y in range(10):
        mine = [int(p == y) for p, t in zip(predicted.tolist(), labels.tolist(), strict=True) if t == y]
        assert per_digit[y] == pytest.approx(sum(mine) / len(mine))
    with pytest.raises(ValueError, match="as many real digits"):
        sample_scores.score_samples(judge, images, images[:10])
