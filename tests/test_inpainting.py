"""Inpainting: observed pixels kept exactly, the cached sampler equal to the naive one, SIR against the exact posterior
of a tiny model, the nearest-neighbour baseline, and the evaluation's metrics against brute force."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from asgn2 import pixelcnn, sampler
from asgn2.conditional import ConditionalPixelCNN, ConditionConfig, Told
from asgn2.holes import HOLE_KINDS, hole_mask
from asgn2.inpainting import (
    METHODS,
    black,
    distinct,
    effective_sample_size,
    inpaint,
    label_mixture,
    nearest,
    nearest_training_digits,
    sir,
)
from asgn2.inpainting_eval import diversity, majority
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.runtime import intra_op_threads
from asgn2.sampler import sample_and_score, sample_holes

MODELS = ("plain", "conditional")


def tiny_model(seed: int = 0, scale: float = 0.5, conditional: bool = True) -> PixelCNN:
    """A conditional PixelCNN (`conditional.ConditionalPixelCNN`), or with `conditional=False` a plain one of the
    same network sizes."""
    torch.manual_seed(seed)
    config = PixelCNNConfig(channels=8, n_blocks=2, kernel_size=5, head_channels=8)
    model = ConditionalPixelCNN(config, ConditionConfig(channels=4)) if conditional else PixelCNN(config)
    for p in model.parameters():
        p.data.normal_(0, scale)
    return model.eval()


def images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


@pytest.mark.parametrize(
    ("kind", "method", "model"),
    [c for c in itertools.product(HOLE_KINDS, METHODS, MODELS) if c[1:] != ("conditional", "plain")],
)
def test_observed_pixels_kept_exactly(kind, method, model):
    """Every method with the conditional PixelCNN, and raster and sir with the plain one too."""
    x, known = images(3), hole_mask(kind, 3, seed=3)
    net = tiny_model(conditional=model == "conditional")
    out = inpaint(net, x, known, method, samples_per_image=2, candidates=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 2, 1, 28, 28)
    expanded = known.unsqueeze(1).expand_as(out)
    assert torch.equal(out[expanded], x.unsqueeze(1).expand_as(out)[expanded])
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(out[~expanded], torch.zeros_like(out[~expanded]))  # it did draw something


@pytest.mark.parametrize(
    ("kind", "model", "conditional"),
    [
        ("bottom", "plain", False),
        ("brush", "plain", False),
        ("bottom", "conditional", False),
        ("brush", "conditional", False),
        ("top", "conditional", True),
        ("ring", "conditional", True),
    ],
)
def test_cached_sampler_equals_naive(kind, model, conditional):
    """The cached sampler draws exactly the definition's samples (`pixelcnn.inpaint`): of the plain PixelCNN, of the
    conditional one used as a plain PixelCNN (untold, nothing observed), and of the conditional one seeing the
    observed pixels (`conditional.Told`)."""
    model, x, known = tiny_model(conditional=model == "conditional"), images(3), hole_mask(kind, 3, seed=5)
    fast = sample_holes(model, x, known, generator=torch.Generator().manual_seed(7), conditional=conditional, repeats=2)
    x2, known2 = x.repeat_interleave(2, 0), known.repeat_interleave(2, 0)
    naive = pixelcnn.inpaint(
        Told(model, known2) if conditional else model, x2, known2, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(fast, naive)
    assert not torch.equal(fast[0], fast[1])  # two completions of one image differ


def test_cached_sampler_told_labels_equals_naive():
    model, x, known = tiny_model(), images(3), hole_mask("centre", 3, seed=5)
    labels = torch.tensor([0, 9, 4, 4, -1, 2])  # two completions per image, each told its own digit (-1: none)
    fast = sample_holes(
        model, x, known, generator=torch.Generator().manual_seed(7), conditional=True, repeats=2, labels=labels
    )
    x2, known2 = x.repeat_interleave(2, 0), known.repeat_interleave(2, 0)
    naive = pixelcnn.inpaint(Told(model, known2, labels), x2, known2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(fast, naive)
    untold = sample_holes(model, x, known, generator=torch.Generator().manual_seed(7), conditional=True, repeats=2)
    assert not torch.equal(fast, untold)


def test_label_mixture_draws_the_digit_from_the_recogniser():
    """Each completion's digit is drawn from r(y | x_obs) of its own image (frequencies over 2000 draws per image
    match it), then its hole exactly as the reference sampler draws it when told that digit."""
    torch.manual_seed(0)
    model = ConditionalPixelCNN(
        PixelCNNConfig(channels=8, n_blocks=2, kernel_size=5, head_channels=8), ConditionConfig(channels=4)
    )
    model.condition.recognise.body[-1].weight.data *= 60  # r far from uniform and from certain
    model.eval()
    x, known = torch.cat([images(1), 1 - images(1, seed=5)]), hole_mask("brush", 2, seed=2)  # unlike images
    posterior = model.class_log_posterior(x, known).exp().detach()
    assert posterior.max() < 0.9 and (posterior[0] - posterior[1]).abs().max() > 0.05
    _, labels = label_mixture(model, x, known, samples=2000, generator=torch.Generator().manual_seed(0))
    for image in range(2):
        frequencies = torch.bincount(labels[image], minlength=10).float() / 2000
        assert (frequencies - posterior[image]).abs().max() < 0.04
    completions, labels = label_mixture(model, x, known, samples=3, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(1)
    drawn = torch.multinomial(posterior, 3, replacement=True, generator=generator)
    x3, known3 = x.repeat_interleave(3, 0), known.repeat_interleave(3, 0)
    naive = pixelcnn.inpaint(Told(model, known3, drawn.flatten()), x3, known3, generator=generator)
    assert torch.equal(labels, drawn) and torch.equal(completions.flatten(0, 1), naive)
    with pytest.raises(ValueError, match="labels are told to a conditional"):
        sample_holes(model, x, known, labels=torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("model", MODELS)
def test_sample_and_score_gives_the_observed_log_likelihood(model):
    model, x, known = tiny_model(conditional=model == "conditional"), images(3), hole_mask("brush", 3, seed=1)
    completions, log_observed = sample_and_score(model, x, known, generator=torch.Generator().manual_seed(0), repeats=2)
    log_p = -F.binary_cross_entropy_with_logits(model(completions), completions, reduction="none")
    expected = (log_p * known.repeat_interleave(2, 0)).flatten(1).sum(1)
    assert torch.allclose(log_observed, expected, atol=1e-3)


@pytest.mark.parametrize(
    ("model", "labels", "score"),
    [
        ("plain", None, True),
        ("plain", None, False),
        ("conditional", None, True),
        ("conditional", None, False),
        ("conditional", torch.tensor([3, 1, 0, 7, 5, 2]), False),
    ],
)
def test_sampling_in_chunks_equals_one_go(monkeypatch, model, labels, score):
    """Rows are sampled `chunk_rows` at a time (memory), in whole groups of an image's completions where they share
    a cached prefix: a cache budget of about one row per chunk gives what one chunk gives."""
    model, x, known = tiny_model(conditional=model == "conditional"), images(3), hole_mask("bottom", 3, seed=2)
    conditional = labels is not None

    def draw() -> tuple[torch.Tensor, torch.Tensor | None]:
        generator = torch.Generator().manual_seed(5)
        return sample_and_score(
            model, x, known, generator=generator, conditional=conditional, repeats=2, score=score, labels=labels
        )

    whole = draw()
    assert sampler.chunk_rows(model, x.repeat_interleave(2, 0), 2) >= 6  # one chunk
    monkeypatch.setattr(sampler, "CACHE_BYTES_CPU", 1)
    assert sampler.chunk_rows(model, x, 2) == 2 and sampler.chunk_rows(model, x) == 1
    chunked = draw()
    assert torch.equal(chunked[0], whole[0])
    if score:
        assert torch.allclose(chunked[1], whole[1], atol=1e-4)


@pytest.mark.parametrize("model", MODELS)
def test_small_steps_run_on_one_thread(monkeypatch, model):
    """A step of fewer multiply-adds than `SERIAL_STEP_MACS` (all rows: every kernel, mix, head and, for the
    conditional model, conditioning matrix once per row) runs on one thread, a larger one on all of torch's; the
    caller's count is restored after and the samples are the same either way."""
    conditional = model == "conditional"
    model, x, known = tiny_model(conditional=conditional), images(3), hole_mask("bottom", 3, seed=2)
    convs = [model.input] + [block.conv for block in model.blocks]
    matrices = convs + [block.mix for block in model.blocks] + [model.head[1], model.head[3]]
    matrices += [model.condition_bias] if conditional else []
    cache = sampler._ActivationCache(model, x, known if conditional else None, 14, repeats=2)  # 6 rows
    assert cache.step_macs == 6 * sum(m.weight.numel() for m in matrices)
    threads, step = [], sampler._ActivationCache.step

    def spy(self: sampler._ActivationCache, r: int, c: int, logit: bool) -> torch.Tensor | None:
        threads.append(torch.get_num_threads())
        return step(self, r, c, logit)

    monkeypatch.setattr(sampler._ActivationCache, "step", spy)
    with intra_op_threads(2):
        serial = sample_holes(
            model, x, known, generator=torch.Generator().manual_seed(1), conditional=conditional, repeats=2
        )
        assert set(threads) == {1} and torch.get_num_threads() == 2
        threads.clear()
        monkeypatch.setattr(sampler, "SERIAL_STEP_MACS", 0)
        threaded = sample_holes(
            model, x, known, generator=torch.Generator().manual_seed(1), conditional=conditional, repeats=2
        )
        assert set(threads) == {2} and torch.get_num_threads() == 2
    assert torch.equal(serial, threaded)


def test_intra_op_threads_restores_the_count_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), intra_op_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError
    assert torch.get_num_threads() == before
    with intra_op_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("model", MODELS)
def test_sir_with_one_candidate_is_raster(model):
    model, x, known = tiny_model(conditional=model == "conditional"), images(2), hole_mask("centre", 2)
    raster = inpaint(model, x, known, "raster", samples_per_image=1, generator=torch.Generator().manual_seed(4))
    one = inpaint(model, x, known, "sir", samples_per_image=1, candidates=1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(raster, one)


def test_sir_samples_the_exact_posterior():
    """One hole pixel with observed pixels after it: enumerate p(x_hole | x_obs) exactly and compare frequencies.

    Raster sampling draws the hole from p(x_hole | pixels before it) and ignores the evidence after it; SIR
    reweights by the likelihood of that evidence and must match the exact posterior."""
    model = tiny_model(seed=1, scale=0.3, conditional=False)
    x = images(1, seed=2)
    known = torch.ones_like(x, dtype=torch.bool)
    known[0, 0, 10, 10] = False
    with_0, with_1 = x.clone(), x.clone()
    with_0[0, 0, 10, 10], with_1[0, 0, 10, 10] = 0.0, 1.0
    log_joint = torch.stack([model.log_prob(with_0), model.log_prob(with_1)]).squeeze(1)
    posterior_1 = torch.softmax(log_joint, 0)[1].item()
    prior_1 = torch.sigmoid(model(x)[0, 0, 10, 10]).item()
    assert abs(posterior_1 - prior_1) > 0.15  # the evidence after the hole matters in this instance

    draws = sir(model, x, known, samples=4000, candidates=400, generator=torch.Generator().manual_seed(0))
    assert abs(draws.completions[0, :, 0, 10, 10].mean().item() - posterior_1) < 0.05
    # the importance-sampling estimate of log p(x_obs) = log sum over the hole value of p(x)
    assert draws.log_evidence().item() == pytest.approx(torch.logsumexp(log_joint, 0).item(), abs=0.05)


def test_effective_sample_size():
    assert effective_sample_size(torch.zeros(1, 8)).item() == pytest.approx(8.0)
    assert effective_sample_size(torch.tensor([[0.0, -100.0, -100.0]])).item() == pytest.approx(1.0)
    w = torch.tensor([[1.0, 2.0, 3.0]])
    assert effective_sample_size(w.log()).item() == pytest.approx(36 / 14)


def test_nearest_training_digit_on_observed_pixels():
    train = images(50, seed=9)
    known = hole_mask("bottom", 50)
    query = torch.where(known, train, 1 - train)  # the same digits with their holes inverted
    assert torch.equal(nearest_training_digits(query, known, train, k=1, chunk=16)[:, 0], torch.arange(50))
    assert torch.equal(nearest(query, known, train)[:, 0], train)  # the donor's pixels fill the hole
    brute = ((query - train[:, None]).abs() * known).flatten(2).sum(2)  # (train, query)
    top3 = nearest_training_digits(query, known, train, k=3, chunk=7)
    assert torch.equal(brute.T.gather(1, top3), brute.T.topk(3, dim=1, largest=False).values)


def test_black_baseline_is_the_masked_image():
    x, known = images(2), hole_mask("top", 2)
    assert torch.equal(black(x, known)[:, 0], x * known)


def test_diversity_is_the_mean_pairwise_hamming_distance_over_the_hole():
    completions = images(5, seed=3).view(1, 5, 1, 28, 28)
    known = hole_mask("brush", 1, seed=4)
    hole = (~known).flatten()
    flat = completions[0].flatten(1)[:, hole]
    pairs = [(flat[a] != flat[b]).sum().item() for a, b in itertools.combinations(range(5), 2)]
    assert diversity(completions, known).item() == pytest.approx(sum(pairs) / len(pairs))


def test_majority_and_distinct():
    assert majority(torch.tensor([[3, 3, 1, 1, 2], [7, 7, 7, 0, 0]])).tolist() == [1, 7]  # ties: the smallest
    a, b = images(2)
    shown, counts = distinct(torch.stack([a, b, a, a]))
    assert counts == [3, 1] and torch.equal(shown, torch.stack([a, b]))


def test_bad_inputs():
    model, x = tiny_model(), images(2)
    with pytest.raises(ValueError, match="known must be a bool tensor"):
        inpaint(model, x, torch.ones_like(x), "raster")
    with pytest.raises(ValueError, match="method must be one of"):
        inpaint(model, x, hole_mask("bottom", 2), "gibbs")
    with pytest.raises(ValueError, match="kind must be one of"):
        hole_mask("donut", 2)
    with pytest.raises(ValueError, match="candidates must be at least 1"):  # hole 4: it died in aminmax
        inpaint(model, x, hole_mask("bottom", 2), "sir", candidates=0)
    with pytest.raises(ValueError, match=r"conditional inpainting needs a conditional\.ConditionalPixelCNN"):
        inpaint(tiny_model(conditional=False), x, hole_mask("bottom", 2), "conditional")
    with pytest.raises(ValueError, match=r"conditional sampling needs a conditional\.ConditionalPixelCNN"):
        sample_holes(tiny_model(conditional=False), x, hole_mask("bottom", 2), conditional=True)
