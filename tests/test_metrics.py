"""The formulas behind the reported numbers, each against an independent computation: the units (nats per image,
bits per dimension) of both models' test figures and of Real NVP's loss, the 95% intervals, the confident fraction,
the FID of n samples and the temperature of Real NVP's samples."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch
from torch import nn

from asgn2 import classifier, fid, pixelcnn, realnvp, realnvp_eval
from asgn2.flows import Flow
from asgn2.intervals import mean_and_interval, proportion_interval
from asgn2.randomness import generator
from asgn2.units import bits_per_dim

Z975 = statistics.NormalDist().inv_cdf(0.975)  # 1.95996...: the 95% normal quantile, not typed in
LN2 = math.log(2)


def uint8_images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------------------- units


def test_bits_per_dim_is_log2_of_the_likelihood_per_dimension():
    """A uniform model of binary digits costs 1 bit per pixel, of 256-level pixels 8; tensors elementwise."""
    assert bits_per_dim(784 * math.log(2)) == pytest.approx(1.0, rel=1e-12)
    assert bits_per_dim(784 * math.log(256)) == pytest.approx(8.0, rel=1e-12)
    nats = torch.tensor([1.0, 50.0, 543.0], dtype=torch.float64)
    expected = nats * math.log2(math.e) / 10  # log2 x = ln x * log2 e: a second route to the same unit
    assert torch.allclose(bits_per_dim(nats, dims=10), expected, rtol=1e-12)


def plain_pixelcnn(seed: int = 0) -> pixelcnn.PixelCNN:
    torch.manual_seed(seed)
    config = pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4)
    return pixelcnn.PixelCNN(config).eval()


def test_pixelcnn_test_nll_is_the_mean_over_images_of_nats_per_image():
    """Catches an NLL in nats per pixel, or a mean over batches, reported as nats per image: 7 images in batches
    of 3, against the per-image sum of Bernoulli log-likelihoods written out; and a model whose logits are all 0
    (p = 1/2 everywhere) costs exactly 784 ln 2 nats, 1 bit per dimension."""
    model = plain_pixelcnn()
    x = (torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    with torch.no_grad():
        p = torch.sigmoid(model(x)).double()
    per_image = -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    assert pixelcnn.test_nll(model, x, batch_size=3) == pytest.approx(per_image.mean().item(), rel=1e-5)
    nn.init.zeros_(model.head[3].weight)
    nn.init.zeros_(model.head[3].bias)
    assert pixelcnn.test_nll(model, x, batch_size=3) == pytest.approx(784 * LN2, rel=1e-6)
    assert bits_per_dim(pixelcnn.test_nll(model, x)) == pytest.approx(1.0, rel=1e-6)


def identity_flow() -> Flow:
    """A Real NVP at initialisation: every coupling is the identity (last layers zero), so the density is the
    preprocessing's alone, which has a closed form."""
    return realnvp.real_nvp(realnvp.RealNVPConfig(n_couplings=2, hidden=8)).eval()


def closed_form_bits_per_dim(v: torch.Tensor) -> np.ndarray:
    """-log2 p(v) / 784 per image of the identity flow, in float64 numpy: y = v / 256, s = lam + (1 - 2 lam) y,
    z = logit s ~ N(0, 1), and the change of variables |dz/dv| = (1 - 2 lam) / (256 s (1 - s)) per pixel."""
    lam = realnvp.LAM
    s = lam + (1 - 2 * lam) * v.flatten(1).double().numpy() / 256
    z = np.log(s / (1 - s))
    log_p = -0.5 * z**2 - 0.5 * np.log(2 * np.pi) + np.log((1 - 2 * lam) / (256 * s * (1 - s)))
    return -log_p.sum(1) / (784 * np.log(2))


def test_realnvp_test_bits_per_dim_against_the_closed_form():
    """Catches a wrong unit, a mean of batch means, or noise from another stream than "eval-dequantization": 7
    images in batches of 3, dequantized by hand from that stream, through the closed form of the identity flow."""
    images = uint8_images(7)
    for seed in (0, 1):
        v = images.double() + torch.rand(images.shape, generator=generator("eval-dequantization", seed)).double()
        expected = closed_form_bits_per_dim(v).mean()
        assert realnvp.test_bits_per_dim(identity_flow(), images, seed=seed, batch_size=3) == pytest.approx(
            expected, rel=1e-6
        )


def test_realnvp_test_bits_per_dim_is_the_mean_of_the_model_log_likelihood_in_bits():
    """The same with trained-like couplings (random weights): log2 of the model's own density, per dimension."""
    torch.manual_seed(0)
    model = realnvp.real_nvp(realnvp.RealNVPConfig(n_couplings=4, hidden=16))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    images = uint8_images(7, seed=2)
    v = realnvp.dequantize(images, generator("eval-dequantization", 0))
    with torch.no_grad():
        expected = (-model.log_prob(v).double() * math.log2(math.e) / 784).mean().item()
    assert realnvp.test_bits_per_dim(model.eval(), images, batch_size=3) == pytest.approx(expected, rel=1e-6)


def test_realnvp_loss_is_bits_per_dim_of_a_fresh_dequantization():
    """Catches a loss without dequantization noise (a density on integers is unbounded) or in other units: the
    noise is the global RNG's next uniform draw, re-drawn here from the same seed."""
    images = uint8_images(5, seed=3)
    torch.manual_seed(11)
    loss = realnvp.realnvp_loss(identity_flow(), images)
    torch.manual_seed(11)
    identity_flow()  # the same draws before the noise as above (the flow's initialisation)
    v = images.double() + torch.rand(images.shape).double()
    assert loss.item() == pytest.approx(closed_form_bits_per_dim(v).mean(), rel=1e-6)


# --------------------------------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(("p", "n"), [(0.5, 100), (0.9, 1000), (0.03, 57), (0.0, 10)])
def test_proportion_interval_is_the_normal_95_percent_half_width(p, n):
    assert proportion_interval(p, n) == pytest.approx(Z975 * math.sqrt(p * (1 - p) / n), rel=1e-4, abs=1e-15)


def test_proportion_interval_agrees_with_the_interval_of_the_mean_of_0_1_values():
    """The same 0/1 outcomes two ways: mean_and_interval uses the n - 1 standard deviation, so its half-width is
    the proportion's times sqrt(n / (n - 1)), exactly."""
    outcomes = torch.tensor([1.0] * 13 + [0.0] * 27)
    mean, half = mean_and_interval(outcomes)
    assert mean == pytest.approx(13 / 40)
    assert half == pytest.approx(proportion_interval(13 / 40, 40) * math.sqrt(40 / 39), rel=1e-12)


def test_mean_and_interval_is_the_mean_and_1_96_standard_errors():
    """Catches the 1/n standard deviation, a division by n instead of sqrt(n), another confidence level."""
    values = torch.randn(50, generator=torch.Generator().manual_seed(0)).double() * 3 + 1
    mean, half = mean_and_interval(values)
    listed = values.tolist()
    assert mean == pytest.approx(statistics.fmean(listed), rel=1e-12)
    assert half == pytest.approx(Z975 * statistics.stdev(listed) / math.sqrt(len(listed)), rel=1e-4)
    assert mean_and_interval(torch.tensor([0.0, 1.0])) == pytest.approx((0.5, Z975 * math.sqrt(0.5 / 2)), rel=1e-4)
    with pytest.raises(ValueError, match="at least 2"):
        mean_and_interval(torch.tensor([1.0]))


# ------------------------------------------------------------------------------------------ classifier figures


class TableJudge(nn.Module):
    """A stand-in classifier: pixel (0, 0) of an image holds a row number; the logits are that row of `table`."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table[x[:, 0, 0, 0].long()]


def test_confident_fraction_counts_the_images_labelled_with_at_least_the_threshold():
    """Three kinds of images whose largest softmax output is exactly 1/2, exactly 1 and 1/10: at threshold 1/2
    the first two count ('at least'), so a strict > is caught."""
    inf = float("inf")
    table = torch.tensor([[0.0, 0.0] + [-inf] * 8, [3.0] + [-inf] * 9, [0.0] * 10])
    judge = TableJudge(table)
    kinds = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    images = torch.zeros(10, 1, 28, 28)
    images[:, 0, 0, 0] = kinds.float()
    assert classifier.confidence(judge, images).tolist() == pytest.approx([0.5] * 3 + [1.0] * 2 + [0.1] * 5)
    assert classifier.confident_fraction(judge, images, threshold=0.5) == pytest.approx(5 / 10)
    assert classifier.confident_fraction(judge, images) == pytest.approx(2 / 10)  # the default, 0.9


def small_flow(seed: int = 0) -> Flow:
    torch.manual_seed(seed)
    model = realnvp.real_nvp(realnvp.RealNVPConfig(n_couplings=2, hidden=16))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def test_sample_quality_rows_against_a_brute_force_count():
    """Per temperature: the FID of exactly n samples against the first n real images (the FID depends on n), the
    fraction of samples labelled with probability >= the threshold counted one by one, and its 95% interval."""
    model, n, temperatures = small_flow(), 40, [1.0, 0.6]
    torch.manual_seed(1)
    judge = classifier.MnistClassifier(width=2).eval()
    real = uint8_images(70, seed=4)
    samples = [realnvp.sample(model, n, t, generator("sampling", 5 + round(100 * t))) for t in temperatures]
    sure = classifier.confidence(judge, samples[0])
    threshold = sure.sort().values[n // 2].item()  # a value that occurs: >= and > differ there
    rows = realnvp_eval.sample_quality(model, judge, real, temperatures, n=n, seed=5, confident=threshold)
    assert [row["temperature"] for row in rows] == temperatures
    real_features = classifier.extract_features(judge, real[:n]).numpy()
    for row, images in zip(rows, samples, strict=True):
        expected_fid = fid.fid(classifier.extract_features(judge, images).numpy(), real_features)
        assert row["fid"] == pytest.approx(expected_fid, rel=1e-6)
        with torch.no_grad():  # the softmax written out
            logits = judge(images.float() / 255).double()
        probabilities = classifier.confidence(judge, images)
        assert torch.allclose(probabilities.double(), (logits.exp() / logits.exp().sum(1, keepdim=True)).amax(1))
        count = sum(p >= threshold for p in probabilities.tolist())  # counted one by one
        assert row["confident"] == pytest.approx(count / n)
        p = count / n
        assert row["confident_half_width"] == pytest.approx(Z975 * math.sqrt(p * (1 - p) / n), rel=1e-4)
    assert 0 < rows[0]["confident"] < 1


def test_the_temperature_grid_grows_until_the_chosen_one_is_inside():
    """A score with its minimum at T = 0.4, below the grid [0.7, 1.0]: the grid grows downward one step at a time
    and stops when the lowest FID has a scored neighbour on each side; each temperature is scored once."""
    scored: list[float] = []

    def rows_at(temperatures: list[float]) -> list[dict[str, float]]:
        scored.extend(temperatures)
        return [{"temperature": t, "fid": (t - 0.4) ** 2} for t in temperatures]

    chosen, rows = realnvp_eval.choose_temperature(rows_at, [1.0, 0.9, 0.8, 0.7])
    assert chosen == 0.4 and [r["temperature"] for r in rows] == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert sorted(scored) == sorted(set(scored))
    upward, _ = realnvp_eval.choose_temperature(lambda ts: [{"temperature": t, "fid": -t} for t in ts], [0.5, 1.0])
    assert upward == 2.0  # the upper limit
    inside, rows = realnvp_eval.choose_temperature(rows_at, [0.3, 0.4, 0.6])
    assert inside == 0.4 and len(rows) == 3


def test_temperature_scales_the_latent():
    """A sample at temperature T is the image of z = T * eps, eps ~ N(0, I) from the generator: mapping the
    sample back through the flow recovers T * eps (catches T used as the variance, or not applied)."""
    model = small_flow(seed=2)
    eps = torch.randn(3, 784, generator=torch.Generator().manual_seed(9))
    for t in (1.0, 0.5):
        v = model.sample(3, t, torch.Generator().manual_seed(9))
        with torch.no_grad():
            z = model.transform(v)[0]
        assert torch.allclose(z, t * eps, atol=2e-3)
