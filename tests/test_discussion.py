"""The generated discussions: comparisons decided by the intervals, every number from the run's own records."""

from __future__ import annotations

import re

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


def family(holes: str, seen: bool, vote: dict[str, float], ess: float = 1.5) -> list[dict]:
    def row(method: str, **values) -> dict:
        return {"holes": holes, "method": method, "seen": seen, **values}

    return [
        row("black", agree=[0.6, 0.03], vote=[0.6, 0.03]),
        row("nearest", agree=[vote["nearest"], 0.02], vote=[vote["nearest"], 0.02]),
        row(CONTEXT, vote=[vote["knn"], 0.02], nll=[22.1, 0.3]),
        row("raster", agree=[0.458, 0.018], vote=[0.566, 0.031], nll=[44.7, 0.7]),
        row("sir", agree=[0.528, 0.028], vote=[0.537, 0.031], nll_estimate=[37.8, 0.7], ess=[ess, 0.1]),
        row("conditional", agree=[0.781, 0.017], vote=[vote["conditional"], 0.02], nll=[40.8, 0.7]),
    ]


NUMBERS = {
    "pixelcnn_nll": 87.2382,
    "pixelcnn_fid": 142.98,
    "pixelcnn_fid_floor": 10.51,
    "inpainting": family("top", True, {"nearest": 0.811, "knn": 0.831, "conditional": 0.852})
    + family("ring", False, {"nearest": 0.942, "knn": 0.926, "conditional": 0.954}),
    "pixelcnn_untold_scores": {"fid": 142.98, "confident": 0.463},
    "pixelcnn_mixture_scores": {"fid": 24.96, "confident": 0.844, "agree": 0.919},
    "pixelcnn_mixture_nll": 84.4712,
    "pixelcnn_untold_nll_subset": 88.2391,
    "pixelcnn_mixture_gain": [3.768, 0.21],
    "pixelcnn_mixture_nll_digits": 1000,
    "realnvp_digit_bpd": 1.8071,
    "realnvp_digit_temperature": 0.7,
    "realnvp_digit_quality": [
        {"temperature": 1.0, "fid": 162.2, "confident": 0.59, "agree": 0.57},
        {"temperature": 0.7, "fid": 131.4, "confident": 0.70, "agree": 0.77},
    ],
    "realnvp_bpd": 1.809,
    "realnvp_floor": {"fid": 11.32, "confident": 0.974},
    "realnvp_temperature": 1.0,
    "realnvp_quality": [
        {"temperature": 1.0, "fid": 283.2, "confident": 0.40, "confident_half_width": 0.03},
        {"temperature": 0.7, "fid": 380.1, "confident": 0.29, "confident_half_width": 0.03},
    ],
}


def test_q1_states_the_numbers_as_the_tables_print_them():
    text = q1(NUMBERS)
    for number in ("87.24", "81.30", "143.0", "10.5", "45.8%", "78.1%", "1.5", "85.2%", "81.1%", "83.1%", "95.4%"):
        assert number in text
    assert "above the nearest training digit (81.1%) and level with the 10-NN vote (83.1%)" in text
    assert "On ring holes, never seen in training" in text and "mostly redraws one" in text
    assert len(text.split()) <= 200
    assert "FID is 143.0 (binarized training digits: 10.5), 46.3% labelled" in text
    assert (
        "the conditional network draws clearer ones: FID 25.0, 84.4% confident, the told digit named for 91.9%" in text
    )
    assert "84.47 nats on the first 1000 test digits, is below the PixelCNN's 88.24" in text


@pytest.mark.parametrize(
    ("gain", "word"), [([3.768, 0.21], "below"), ([0.1, 0.21], "level with"), ([-1.0, 0.2], "above")]
)
def test_q1_says_where_the_mixture_nll_lies(gain, word):
    assert f"is {word} the PixelCNN's 88.24" in q1({**NUMBERS, "pixelcnn_mixture_gain": gain})


def test_q1_follows_the_numbers_when_they_change():
    changed = {**NUMBERS, "inpainting": family("top", True, {"nearest": 0.90, "knn": 0.70, "conditional": 0.80}, 4.0)}
    text = q1(changed)
    assert "below the nearest training digit (90.0%) and above the 10-NN vote (70.0%)" in text
    assert "keeps about 4.0" in text and "ring" not in text


@pytest.mark.parametrize(("cold", "word"), [(0.29, "below"), (0.41, "level with"), (0.55, "above")])
def test_q2_says_what_a_lower_temperature_did(cold, word):
    quality = [dict(NUMBERS["realnvp_quality"][0]), {**NUMBERS["realnvp_quality"][1], "confident": cold}]
    text = q2({**NUMBERS, "realnvp_quality": quality})
    assert f"{word} that at T = 1.0" in text and "1.8090 bits/dim" in text and "below the 1.89" in text
    assert len(text.split()) <= 200
    assert re.search(r"FID is 283 against 11\.3", text)
    assert "gives 1.8071 bits/dim and at T = 0.7 an FID of 131, 70% labelled with confidence" in text
    assert "the told digit named for 77%" in text
