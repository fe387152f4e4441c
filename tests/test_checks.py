"""`asgn2.checks`: every check passes on the package's answer, and each one fails, with the message that names the
bug, on the mistakes of the gallery (`benchmarks/bench_mistakes.py`: the same copies of the answer with a bug
applied, here untrained and small) and on hand-made negative controls."""

from __future__ import annotations

import ast
import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from asgn2 import checks, pixelcnn, realnvp
from asgn2.flows import Composite, Logit, Scale
from asgn2.pixelcnn import MaskedConv2d, PixelCNN, PixelCNNConfig
from asgn2.realnvp import AffineCoupling, RealNVP, RealNVPConfig, checkerboard

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_mistakes", REPO / "benchmarks" / "bench_mistakes.py")
gallery = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = gallery  # its dataclasses look their module up
_spec.loader.exec_module(gallery)

SMALL_PIXELCNN = PixelCNNConfig(channels=8, n_blocks=3, head_channels=8, kernel_size=3)
SMALL_REALNVP = RealNVPConfig(n_couplings=4, hidden=32)


def small_pixelcnn(module=pixelcnn) -> PixelCNN:
    torch.manual_seed(0)
    return module.PixelCNN(SMALL_PIXELCNN)


def small_realnvp(module=realnvp) -> RealNVP:
    torch.manual_seed(0)
    return module.RealNVP(SMALL_REALNVP)


def failed(verdict: checks.Verdict, says: str) -> bool:
    return verdict.passed is False and says in verdict.message


# ---------------------------------------------------------------------------------------- the answer passes


def test_every_pixelcnn_check_passes_on_the_answer():
    verdicts = checks.pixelcnn_checks(
        small_pixelcnn(), nll=pixelcnn.test_nll, sample=pixelcnn.sample, inpaint=pixelcnn.inpaint
    )
    assert [v.check for v in verdicts] == [
        "causality",
        "mask types",
        "normalisation",
        "NLL units",
        "sampler",
        "inpainting",
    ]
    assert all(v.passed for v in verdicts), checks.report(verdicts)
    checks.require(verdicts)


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("kernel_size", [3, 5, 7])
def test_the_answers_masked_convolution_is_the_mask_it_says(mask_type, kernel_size):
    verdict = checks.masked_conv(MaskedConv2d(3, 4, kernel_size, mask_type), mask_type)
    assert verdict.passed, verdict
    assert verdict.evidence == checks._full_set(mask_type, kernel_size)


def test_every_realnvp_check_passes_on_the_answer():
    verdicts = checks.realnvp_checks(small_realnvp(), bits_per_dim=realnvp.test_bits_per_dim, loss=realnvp.realnvp_loss)
    assert [v.check for v in verdicts] == [
        "flow shapes",
        "round trip",
        "log-det",
        "inverse log-det",
        "every dimension transformed",
        "bounded scale",
        "bits/dim units",
        "dequantization",
        "dequantization",
    ]
    assert all(v.passed for v in verdicts), checks.report(verdicts)


@pytest.mark.parametrize(
    ("make", "inputs"),
    [
        (lambda: Scale(1 / 256), lambda: checks.pixel_inputs()),
        (lambda: Logit(1e-6), lambda: torch.rand(4, 784)),
        (lambda: Logit(0.05), lambda: torch.rand(4, 784)),
        (lambda: AffineCoupling(checkerboard(), 64), lambda: 3 * torch.randn(4, 784)),
        (lambda: Composite([Logit(1e-6), AffineCoupling(checkerboard(), 32), Scale(0.5)]), lambda: torch.rand(4, 784)),
    ],
    ids=["Scale", "Logit 1e-6", "Logit 0.05", "AffineCoupling", "Composite"],
)
def test_the_flow_contract_holds_for_each_transform_of_the_answer(make, inputs):
    checks.require(checks.flow_contract(make(), inputs()))


def test_a_coupling_alone_has_a_bounded_scale_and_leaves_half_unchanged():
    coupling = AffineCoupling(checkerboard(), 32)
    assert checks.scale_bounded(coupling, torch.randn(2, 784)).passed
    alone = checks.every_dimension_transformed(coupling, torch.randn(2, 784))  # by design, for one coupling
    assert failed(alone, "392 of 784 dimensions (the checkerboard squares with (row + col) % 2 == 0)")


# ---------------------------------------------------------------------------------- the gallery's mistakes


@pytest.mark.parametrize("mistake", gallery.MISTAKES, ids=[m.name for m in gallery.MISTAKES])
def test_each_mistake_of_the_gallery_is_named_by_its_check(mistake):
    """The copy of the answer with the mistake applied (untrained, small): the check meant for it fails and its
    message names the bug."""
    code = gallery.answer_copy(mistake)
    model = small_pixelcnn(code.pixelcnn) if mistake.question == "pixelcnn" else code.realnvp.real_nvp(SMALL_REALNVP)
    verdicts = gallery.verdicts(mistake, code, model)
    meant = [v for v in verdicts if v.check == mistake.check]
    assert meant and any(failed(v, mistake.says) for v in meant), checks.report(verdicts)
    with pytest.raises(checks.CheckFailed, match=mistake.check):
        checks.require(verdicts)


@pytest.mark.parametrize("question", ["pixelcnn", "realnvp"])
def test_the_gallerys_unpatched_copy_passes_every_check(question):
    """The gallery's copy machinery alone changes nothing: the correct copy passes, so a failure is the bug's."""
    code = gallery.answer_copy(gallery.CORRECT[question])
    model = small_pixelcnn(code.pixelcnn) if question == "pixelcnn" else code.realnvp.real_nvp(SMALL_REALNVP)
    checks.require(gallery.verdicts(gallery.CORRECT[question], code, model))


def test_the_gallery_has_the_issues_mistakes_and_each_has_a_check():
    names = {m.name for m in gallery.MISTAKES}
    assert len(names) == len(gallery.MISTAKES) >= 12
    assert all(m.check and m.says for m in gallery.MISTAKES)
    gallery.check_snippets()  # every snippet still occurs exactly once in the answer


# ------------------------------------------------------------------------------------ hand-made negatives


class SumChannels(nn.Module):
    """A layer's output summed over its channels: one output per pixel, for `checks.causality`."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x).sum(1, keepdim=True)


def test_causality_of_a_single_layer_allows_the_centre_only_for_mask_b():
    b_layer = SumChannels(MaskedConv2d(1, 4, 3, "B"))
    assert checks.causality(b_layer, centre_allowed=True).passed
    assert failed(checks.causality(b_layer), "depends on input pixel (0, 0), the pixel itself")


def test_masked_conv_names_a_swapped_and_an_incomplete_mask():
    assert failed(checks.masked_conv(MaskedConv2d(1, 2, 5, "B"), "A"), "are they swapped?")
    conv = MaskedConv2d(1, 2, 5, "A")
    conv.mask[:, :, 0] = 0  # the top row hidden too
    assert failed(checks.masked_conv(conv, "A"), "5 of its taps are hidden too")
    unmasked = nn.Conv2d(1, 2, 5, padding=2)
    assert failed(checks.masked_conv(unmasked, "A"), "no causal mask")


def test_mask_types_wants_mask_a_first():
    model = small_pixelcnn()
    model.input = MaskedConv2d(1, SMALL_PIXELCNN.channels, 7, "B")
    verdict = checks.mask_types(model)
    assert failed(verdict, "the first layer (input) shows the centre pixel (mask B)")


def test_normalisation_fails_where_two_pixels_see_each_other():
    class BothNeighbours(nn.Module):  # logit_i = 3 (x_(i-1) + x_(i+1)): each pixel sees the next, which sees it
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.tensor(3.0))

        def forward(self, x):
            flat = x.flatten(1)
            zero = torch.zeros_like(flat[:, :1])
            before, after = torch.cat([zero, flat[:, :-1]], 1), torch.cat([flat[:, 1:], zero], 1)
            return (self.w * (before + after)).view_as(x)

    assert failed(checks.normalisation(BothNeighbours()), "not 1")
    assert failed(checks.causality(BothNeighbours()), "depends on input pixel (0, 1), to its right in the same row")


def test_nll_units_name_the_usual_mix_ups():
    answer = pixelcnn.test_nll
    assert failed(checks.nll_units(lambda m, x: answer(m, x) * x.shape[0]), "summed over the images")
    assert failed(checks.nll_units(lambda m, x: answer(m, x) / math.log(2)), "bits per image")
    assert failed(checks.nll_units(lambda m, x: answer(m, x) / 784 / math.log(2)), "that is bits/dim")
    assert failed(checks.nll_units(lambda m, x: -answer(m, x)), "the sign")
    assert failed(checks.nll_units(lambda m, x: 1.0), "none of the usual unit mix-ups")


def test_bits_per_dim_units_name_the_usual_mix_ups():
    answer = realnvp.test_bits_per_dim
    assert failed(checks.bits_per_dim_units(lambda m, x: answer(m, x) * math.log(2) ** 2), "multiplied by ln 2")
    assert failed(checks.bits_per_dim_units(lambda m, x: answer(m, x) * 784), "bits per image")
    assert failed(checks.bits_per_dim_units(lambda m, x: answer(m, x) / x.shape[0]), "divided by the number")


def test_the_sampler_check_names_reversed_and_unfed_draws():
    def one_minus_p(model, n):
        x = torch.zeros(n, 1, 28, 28)
        for i in range(784):
            r, c = divmod(i, 28)
            p = torch.sigmoid(model(x)[:, 0, r, c])
            x[:, 0, r, c] = (torch.rand(n) > p).float()
        return x

    def all_at_once(model, n):  # every pixel drawn from the logits of an empty image: no feedback
        return (torch.rand(n, 1, 28, 28) < torch.sigmoid(model(torch.zeros(n, 1, 28, 28)))).float()

    assert failed(checks.sampler(one_minus_p), "1 - p")
    assert failed(checks.sampler(all_at_once), "the draws are not fed back")
    assert failed(checks.sampler(lambda m, n: (torch.rand(n, 1, 28, 28) < 0.5).float()), "not drawn from the model")
    assert failed(checks.sampler(lambda m, n: torch.full((n, 1, 28, 28), 0.5)), "not binary")


def test_the_inpainting_check_names_thresholded_completions():
    def most_likely(model, x, known):
        x = x.clone()
        for i in range(784):
            r, c = divmod(i, 28)
            p = torch.sigmoid(model(x)[:, 0, r, c])
            x[:, 0, r, c] = torch.where(known[:, 0, r, c], x[:, 0, r, c], (p > 0.5).float())
        return x

    assert failed(checks.inpainting(most_likely), "the same completions")
    assert checks.inpainting(pixelcnn.inpaint, small_pixelcnn()).passed


def test_the_flow_contract_names_a_bad_inverse_and_per_dimension_log_dets():
    class Doubling(Scale):  # the inverse forgets to divide
        def inverse(self, z):
            return z, super().inverse(z)[1]

    class PerDimension(Scale):  # log-dets per dimension, not summed
        def forward(self, x):
            return x * self.factor, torch.full_like(x, math.log(self.factor))

    x = torch.rand(4, 784)
    contract = {v.check: v for v in checks.flow_contract(Doubling(2.0), x)}
    assert failed(contract["round trip"], "inverse(forward(x)) differs from x")
    assert failed(checks.flow_contract(PerDimension(2.0), x)[0], "log_det must have shape (N,)")


def test_the_dequantization_check_names_noise_outside_the_pixels_bin():
    def gaussian(flow, images):
        return flow.log_prob(images.float() + torch.randn(images.shape))

    assert failed(checks.dequantization(gaussian), "not x + u with u in [0, 1)")


# ------------------------------------------------------------------------------------------------ the module


def test_checks_imports_nothing_beyond_the_answer():
    """asgn2.checks works on any implementation: it imports the answer's and the infrastructure's modules only."""
    tree = ast.parse((REPO / "asgn2" / "checks.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}
    assert imported <= {"data", "flows", "units", "randomness"}, imported


def test_report_and_require():
    passed, failing = checks.Verdict("a", True, "fine"), checks.Verdict("b", False, "broken")
    assert checks.report([passed, failing]) == "PASS a: fine\nFAIL b: broken"
    checks.require(passed, [checks.Verdict("c", None, "not applicable")])
    with pytest.raises(checks.CheckFailed, match="FAIL b: broken"):
        checks.require([passed, failing])
    assert checks.first_failure([passed, failing]) is failing
