"""The generated discussions: comparisons decided by the intervals, every number from the run's own records."""

from __future__ import annotations

import pytest

from asgn2.discussion import q1, q2, relation
from asgn2.inpainting_eval import CONTEXT


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.85, 0.02), (0.81, 0.02), "above"),  # 0.04 apart, intervals combined 0.028
        ((0.81, 0.02), (0.85, 0.02), "below"),
        ((0.84, 0.02), (0.82, 0.02), "level with"),  # 0.02 apart: within the intervals
        ((0.5, 0.0), (0.5, 0.0), "level with"),
    ],
)
def test_relation_is_decided_by_the_combined_intervals(a, b, expected):
    assert relation(*a, *b) == expected


def votes(fraction: float, n: int = 1000) -> list[int]:
    """Per-digit votes, the first round(fraction n) right: two methods' votes nest, as when one is right wherever
    the other is."""
    right = round(fraction * n)
    return [1] * right + [0] * (n - right)


def family(holes: str, seen: bool, vote: dict[str, float], ess: float = 1.5) -> list[dict]:
    def row(method: str, fraction: float, **values) -> dict:
        return {"holes": holes, "method": method, "seen": seen, "vote": [fraction, 0.03], "votes": votes(fraction)}

    return [
        {**row("black", vote.get("black", 0.6)), "agree": [0.6, 0.03]},
        {**row("nearest", vote["nearest"]), "agree": [vote["nearest"], 0.02]},
        {**row(CONTEXT, vote["knn"]), "nll": [22.1, 0.3]},
        {**row("raster", 0.566), "agree": [0.458, 0.018], "nll": [44.7, 0.7]},
        {**row("sir", 0.537), "agree": [0.528, 0.028], "nll_estimate": [37.8, 0.7], "ess": [ess, 0.1]},
        {**row("conditional", vote["conditional"]), "agree": [0.781, 0.017], "nll": [40.8, 0.7]},
    ]


NUMBERS = {
    "pixelcnn_nll": 87.2382,
    "pixelcnn_fid": 142.98,
    "pixelcnn_fid_floor": 10.51,
    "inpainting": family("top", True, {"nearest": 0.811, "knn": 0.831, "conditional": 0.852, "black": 0.636})
    + family("bottom", True, {"nearest": 0.861, "knn": 0.85, "conditional": 0.895, "black": 0.515})
    + family("ring", False, {"nearest": 0.942, "knn": 0.926, "conditional": 0.954}),
    "pixelcnn_untold_scores": {"fid": 142.98, "confident": 0.463, "confident_half_width": 0.031},
    "pixelcnn_mixture_scores": {"fid": 24.96, "confident": 0.844, "confident_half_width": 0.022, "agree": 0.919},
    "pixelcnn_mixture_nll": 84.4712,
    "pixelcnn_untold_nll_subset": 88.2391,
    "pixelcnn_mixture_gain": [3.768, 0.21],
    "pixelcnn_mixture_nll_digits": 1000,
    "realnvp_digit_bpd": 1.8071,
    "realnvp_digit_gain": [0.0019, 0.0004],
    "realnvp_digit_temperature": 0.6,
    "realnvp_digit_quality": [
        {"temperature": 0.5, "fid": 140.0, "confident": 0.72, "agree": 0.78, "agree_half_width": 0.03},
        {"temperature": 0.6, "fid": 131.4, "confident": 0.70, "agree": 0.77, "agree_half_width": 0.03},
        {"temperature": 0.7, "fid": 135.0, "confident": 0.68, "agree": 0.75, "agree_half_width": 0.03},
    ],
    "realnvp_bpd_interval": [1.809, 0.004],
    "realnvp_floor": {"fid": 11.32, "confident": 0.974},
    "realnvp_temperature": 0.9,
    "realnvp_quality": [
        {"temperature": 0.8, "fid": 300.5, "confident": 0.35, "confident_half_width": 0.03},
        {"temperature": 0.9, "fid": 283.2, "confident": 0.40, "confident_half_width": 0.03},
        {"temperature": 1.0, "fid": 290.1, "confident": 0.41, "confident_half_width": 0.03},
    ],
}


def test_q1_states_the_numbers_as_the_tables_print_them():
    text = q1(NUMBERS)
    for number in ("87.24", "81.30", "143.0", "10.5", "85.2%", "81.1%", "83.1%", "95.4%", "56.6%", "63.6%", "51.5%"):
        assert number in text
    assert "votes right for 85.2%, above the nearest training digit (81.1%; +4.1 ± 1.2) and above 10-NN" in text
    assert "56.6% on top holes, below black (63.6%; -7.0 ± 1.6); 56.6% on bottom holes, above black (51.5%;" in text
    assert "On ring holes, never seen in training" in text
    assert len(text.split()) <= 200
    assert "FID is 143.0 (binarized training digits: 10.5), 46.3% labelled" in text
    assert "FID 25.0, 84.4% confident (above the PixelCNN's), the told digit named 91.9%" in text
    assert "below the PixelCNN's on the first 1000 test digits (3.77 ± 0.21 nats apart, paired)" in text


@pytest.mark.parametrize(
    ("gain", "word"), [([3.768, 0.21], "below"), ([0.1, 0.21], "level with"), ([-1.0, 0.2], "above")]
)
def test_q1_says_where_the_mixture_nll_lies(gain, word):
    assert f"its exact NLL is {word} the PixelCNN's on" in q1({**NUMBERS, "pixelcnn_mixture_gain": gain})


def test_q1_follows_the_numbers_when_they_change():
    changed = {
        **NUMBERS,
        "inpainting": family("top", True, {"nearest": 0.90, "knn": 0.70, "conditional": 0.80}),
        "pixelcnn_mixture_scores": {**NUMBERS["pixelcnn_mixture_scores"], "confident": 0.47},
    }
    text = q1(changed)
    assert "below the nearest training digit (90.0%; -10.0 ± 1.9)" in text
    assert "above 10-NN (70.0%" in text and "level with the PixelCNN's" in text
    assert "ring" not in text and "on bottom holes" not in text


@pytest.mark.parametrize(
    ("bpd", "words"),
    [
        ((1.809, 0.004), ("below the 1.93", "below the 1.89")),
        ((1.90, 0.004), ("below the 1.93", "above the 1.89")),
        ((1.93, 0.01), ("level with the 1.93", "above the 1.89")),
    ],
)
def test_q2_compares_with_the_published_flows_by_their_intervals(bpd, words):
    text = q2({**NUMBERS, "realnvp_bpd_interval": list(bpd)})
    assert all(word in text for word in words) and "Papamakarios et al. 2017" in text


def test_q2_states_the_chosen_temperature_and_the_paired_gain():
    text = q2(NUMBERS)
    assert len(text.split()) <= 220
    assert "T = 0.9; there, against test digits, its samples' FID is 283 (real training digits: 11.3)" in text
    assert "40 ± 3% of them with confidence (real digits: 97%)" in text
    assert "gives 1.8071 bits/dim, below the plain base (-0.00190 ± 0.00040, paired" in text
    assert "at its chosen T = 0.6 its samples' FID is 131, 70% labelled with confidence" in text
    assert "the told digit named for 77 ± 3%" in text
    assert "level with the plain base" in q2({**NUMBERS, "realnvp_digit_gain": [0.0002, 0.0004]})
    assert "dimmer" not in text and "far from" not in text and "close to" not in text  # causes and words unbacked
