"""The inpainting evaluation end to end on a tiny model and real MNIST digits: rows, intervals, baselines."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asgn2 import inpainting
from asgn2.classifier import MnistClassifier
from asgn2.conditional import ConditionalPixelCNN, ConditionConfig
from asgn2.data import binarize
from asgn2.holes import hole_mask
from asgn2.inpainting_eval import (
    CONTEXT,
    ORIGINAL,
    InpaintingEvalSpec,
    evaluate,
    evaluate_family,
    noise_floor,
    paired_difference,
    table,
)
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.randomness import generator


@pytest.mark.mnist
def test_evaluation_rows_and_table(mnist_train, mnist_test):
    torch.manual_seed(0)
    model = ConditionalPixelCNN(
        PixelCNNConfig(channels=8, n_blocks=1, head_channels=8, kernel_size=3), ConditionConfig(channels=4)
    ).eval()
    judge = MnistClassifier().eval()
    spec = InpaintingEvalSpec(digits=12, samples=2, candidates=3, kinds=("top", "ring"))
    train = (mnist_train[0][:3000], mnist_train[1][:3000])
    rows = evaluate(model, judge, *mnist_test, *train, spec)
    methods = [(r["holes"], r["method"]) for r in rows]
    assert methods[0] == ("none", ORIGINAL)
    for kind in spec.kinds:
        for method in ("black", "nearest", CONTEXT, "raster", "sir", "conditional"):
            assert (kind, method) in methods
    ring = {r["method"]: r for r in rows if r["holes"] == "ring"}
    assert not ring["raster"]["seen"] and ring["sir"]["ess"][0] <= spec.candidates
    # the per-digit votes are kept: the paired difference's mean is the difference of the means, its interval the
    # spread of the per-digit differences (zero when the two methods agree on every digit)
    a, b = ring["conditional"], ring["nearest"]
    assert len(a["votes"]) == spec.digits and a["vote"][0] == pytest.approx(sum(a["votes"]) / spec.digits)
    difference, half = paired_difference(a, b)
    assert difference == pytest.approx(a["vote"][0] - b["vote"][0])
    assert paired_difference(a, a) == (0.0, 0.0) and half >= 0
    for r in rows:
        for key in ("agree", "vote", "pixels"):
            if key in r:
                # per-digit values in [0, 1] have a sample variance of at most m (1 - m) n / (n - 1), reached by 0/1
                # values (a vote): the half-width is at most, and for a vote exactly, 1.96 sqrt(m (1 - m) / (n - 1))
                mean, half = r[key]
                bound = 1.96 * math.sqrt(mean * (1 - mean) / (spec.digits - 1))
                assert 0 <= mean <= 1 and half <= bound + 1e-9
                if key == "vote":
                    assert half == pytest.approx(bound, abs=1e-9)
        for key in ("nll", "diversity"):
            if key in r:
                assert r[key][1] > 0  # the digits differ
    assert "diversity" not in ring["black"] and ring["conditional"]["nll"][0] > ring[CONTEXT]["nll"][0] > 0
    text = table(rows, spec.candidates)
    assert "ring (unseen)" in text and "sir (K = 3, ESS" in text


def test_noise_floor_is_the_bernoulli_entropy_of_the_grey_levels_over_the_hole():
    grey = torch.tensor([0, 255, 51, 204], dtype=torch.uint8).view(1, 1, 2, 2)
    known = torch.tensor([False, False, False, True]).view(1, 1, 2, 2)
    p = 51 / 255
    expected = -(p * math.log(p) + (1 - p) * math.log(1 - p))  # black and white pixels: no noise; 204 is observed
    assert noise_floor(grey, known).item() == pytest.approx(expected)


def test_spec_needs_at_least_as_many_candidates_as_samples():
    with pytest.raises(ValueError, match="candidates"):
        InpaintingEvalSpec(digits=10, samples=8, candidates=4)


def test_noise_floor_of_random_grey_levels_pixel_by_pixel():
    grey = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    known = hole_mask("brush", 3, seed=1)
    expected = []
    for i in range(3):
        levels, observed = (grey[i].flatten().double() / 255).tolist(), known[i].flatten().tolist()
        pixels = [v for v, o in zip(levels, observed, strict=True) if not o and 0 < v < 1]  # 0 and 1: no noise
        expected.append(-sum(v * math.log(v) + (1 - v) * math.log(1 - v) for v in pixels))
    assert noise_floor(grey, known).tolist() == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------ the reported percentages, by brute force

Z975 = statistics.NormalDist().inv_cdf(0.975)


class CountingJudge(nn.Module):
    """A stand-in classifier whose label for an image is (its number of ones // 25) mod 10."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.one_hot((x.flatten(1).sum(1) // 25).long() % 10, 10).float()


def judged(image: torch.Tensor) -> int:
    return int(image.sum().item() // 25) % 10


def most_common(names: list[int]) -> int:
    """The majority label, the smallest among the most frequent."""
    counts = Counter(names)
    return min(name for name, c in counts.items() if c == max(counts.values()))


def interval(values: list[float]) -> list[float]:
    return [statistics.fmean(values), Z975 * statistics.stdev(values) / math.sqrt(len(values))]


def brute_force_scores(completions: torch.Tensor, truth: torch.Tensor, known: torch.Tensor, labels: list[int]):
    """Per digit: the fraction of its completions the judge names right, whether their majority is right, the
    fraction of hole pixels right; then each one's mean and 95% half-width."""
    agree, vote, pixels = [], [], []
    for i, label in enumerate(labels):
        names = [judged(c) for c in completions[i]]
        agree.append(sum(name == label for name in names) / len(names))
        vote.append(float(most_common(names) == label))
        hole = ~known[i, 0]
        right = [(c[0][hole] == truth[i, 0][hole]).float().mean().item() for c in completions[i]]
        pixels.append(statistics.fmean(right))
    return {"agree": interval(agree), "vote": interval(vote), "pixels": interval(pixels)}


@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_evaluate_family_rows_against_a_brute_force_count(kind):
    """Every row of one hole family, recounted by hand from the completions each method draws when called on its
    own (same generators): the agreement, vote and pixel percentages with their intervals, the 10-NN vote, the
    noise floor, raster's exact hole NLL. Catches scoring raster on its K candidates instead of its S completions,
    agreement counted as best-of-S, pixels divided by every pixel, an interval of the wrong width. A plain PixelCNN
    has every row but the conditional one."""
    torch.manual_seed(0)
    config = PixelCNNConfig(channels=4, n_blocks=1, head_channels=4, kernel_size=3)
    conditional = kind == "conditional"
    model = (ConditionalPixelCNN(config, ConditionConfig(channels=4)) if conditional else PixelCNN(config)).eval()
    g = torch.Generator().manual_seed(0)
    n, spec = 8, InpaintingEvalSpec(digits=8, samples=3, candidates=5, kinds=("top",))
    grey = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    truth = binarize(grey, g)
    labels = [judged(t) + (i % 2) for i, t in enumerate(truth)]  # the judge's label of the digit, for half of them
    train_binary = (torch.rand(60, 1, 28, 28, generator=g) < 0.3).float()
    train_labels = torch.randint(0, 10, (60,), generator=g)
    rows = evaluate_family(
        model, CountingJudge(), truth, torch.tensor(labels), train_binary, train_labels, "top", spec, grey
    )
    by_method = {r["method"]: r for r in rows}
    assert [r["method"] for r in rows] == ["black", "nearest", CONTEXT, "raster", "sir"] + ["conditional"] * conditional

    known = hole_mask("top", n, seed=spec.seed)
    # the ten nearest training digits on the observed pixels: the search is tested in test_inpainting; here only
    # that these are ten of the nearest (ties may be broken either way), then the vote is counted by hand
    neighbours = inpainting.nearest_training_digits(truth, known, train_binary, k=10).tolist()
    for t, k, near in zip(truth, known, neighbours, strict=True):
        distances = [((t - d).abs() * k).sum().item() for d in train_binary]
        assert [distances[j] for j in near] == sorted(distances)[:10]
    drawn = inpainting.sir(model, truth, known, samples=3, candidates=5, generator=generator("sampling", spec.seed))
    completions = {
        "black": (truth * known).unsqueeze(1),
        "nearest": torch.stack(
            [torch.where(k, t, train_binary[near[0]]) for t, k, near in zip(truth, known, neighbours, strict=True)]
        )[:, None],
        "raster": drawn.candidates[:, : spec.samples],
        "sir": drawn.completions,
    }
    if conditional:
        completions["conditional"] = inpainting.conditional(
            model, truth, known, samples=3, generator=generator("sampling", spec.seed)
        )
    for method, drawn_here in completions.items():
        for key, expected in brute_force_scores(drawn_here, truth, known, labels).items():
            assert by_method[method][key] == pytest.approx(expected, rel=1e-4, abs=1e-12), (method, key)
    assert any(0 < by_method[m]["agree"][0] < 1 for m in completions)  # the counts are not all 0 or all 1
    assert any(0 < by_method[m]["vote"][0] < 1 for m in completions)

    knn = [float(most_common(train_labels[near].tolist()) == y) for near, y in zip(neighbours, labels, strict=True)]
    levels = grey.double() / 255
    floor = [
        -sum(
            v * math.log(v) + (1 - v) * math.log(1 - v)
            for v, o in zip(lv.flatten().tolist(), k.flatten().tolist(), strict=True)
            if not o and 0 < v < 1
        )
        for lv, k in zip(levels, known, strict=True)
    ]
    assert by_method[CONTEXT]["vote"] == pytest.approx(interval(knn), rel=1e-4, abs=1e-12)
    assert by_method[CONTEXT]["nll"] == pytest.approx(interval(floor), rel=1e-4)
    with torch.no_grad():
        p = torch.sigmoid(model(truth)).double()  # the model as a plain PixelCNN: raster's proposal
    log_p = truth * p.log() + (1 - truth) * (1 - p).log()
    raster_nll = [-(log_p[i][~known[i]]).sum().item() for i in range(n)]
    assert by_method["raster"]["nll"] == pytest.approx(interval(raster_nll), rel=1e-4)
