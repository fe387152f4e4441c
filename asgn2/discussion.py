"""The notebook's discussions, written from the numbers its own run recorded.

A notebook run on another CPU trains for a different number of steps and prints other numbers; a discussion typed
once would then contradict the tables above it. Here every number in the text is formatted exactly as the table
that shows it, and every comparison (above, level with, below) is decided from the two values and their 95%
intervals, so the text stays true on every machine. A test re-executes the notebook and checks that each number of
each discussion appears in the outputs above it.
"""

from __future__ import annotations

import math
from typing import Any

from .inpainting_eval import CONTEXT, paired_difference
from .published import MAF_BPD, MAF_BPD_HALF, PUBLISHED_PIXELCNN_NLL, REALNVP5_BPD, REALNVP5_BPD_HALF

Row = dict[str, Any]


def relation(a: float, a_half: float, b: float, b_half: float) -> str:
    """How a compares with b given the half-widths of their 95% intervals: "above", "below", or "level with" when
    the difference lies within the two intervals combined (in quadrature, as for independent estimates)."""
    if abs(a - b) <= math.hypot(a_half, b_half):
        return "level with"
    return "above" if a > b else "below"


def _percent(row: Row, key: str) -> str:
    """A percentage as the evaluation table prints it (one decimal)."""
    return f"{100 * row[key][0]:.1f}%"


def _by_method(rows: list[Row], holes: str) -> dict[str, Row]:
    return {r["method"]: r for r in rows if r["holes"] == holes}


def _versus(a: Row, b: Row, name: str) -> str:
    """'above the nearest training digit (81.2%; +3.8 ± 2.9)': a's vote against b's on the same digits, the word
    decided by the paired difference's 95% interval, printed as `inpainting_eval.paired_table` prints it."""
    difference, half = paired_difference(a, b)
    where = f"{_percent(b, 'vote')}; {100 * difference:+.1f} ± {100 * half:.1f}"
    return f"{relation(difference, half, 0.0, 0.0)} {name} ({where})"


def _raster_sentence(rows: list[Row]) -> str:
    """Raster against leaving the hole black, on the family it sees least (top) and the one it sees all of (bottom)."""
    parts = []
    for holes in ("top", "bottom"):
        methods = _by_method(rows, holes)
        if "raster" in methods:
            raster = methods["raster"]
            parts.append(f"{_percent(raster, 'vote')} on {holes} holes, {_versus(raster, methods['black'], 'black')}")
    return (
        "Raster's completions vote right for " + "; ".join(parts) + ": raster draws a top hole's pixels before any "
        "observed one, a bottom hole's after all of them."
    )


def _vote_sentence(methods: dict[str, Row], where: str) -> str:
    cond = methods["conditional"]
    nearest = _versus(cond, methods["nearest"], "the nearest training digit")
    return (
        f"{where} votes right for {_percent(cond, 'vote')}, {nearest} and {_versus(cond, methods[CONTEXT], '10-NN')}."
    )


def _samples_sentence(numbers: dict[str, Any]) -> str:
    """The PixelCNN's samples, then the label mixture's samples and NLL, as the notebook's tables print them."""
    untold, mixture = numbers["pixelcnn_untold_scores"], numbers["pixelcnn_mixture_scores"]
    gain, gain_half = numbers["pixelcnn_mixture_gain"]
    confident = relation(
        mixture["confident"], mixture["confident_half_width"], untold["confident"], untold["confident_half_width"]
    )
    return (
        f"Its samples' FID is {untold['fid']:.1f} (binarized training digits: {numbers['pixelcnn_fid_floor']:.1f}), "
        f"{100 * untold['confident']:.1f}% labelled with confidence. The label mixture's samples score FID "
        f"{mixture['fid']:.1f}, {100 * mixture['confident']:.1f}% confident ({confident} the PixelCNN's), the told "
        f"digit named {100 * mixture['agree']:.1f}%; its exact NLL is {relation(-gain, gain_half, 0.0, 0.0)} the "
        f"PixelCNN's on the first {numbers['pixelcnn_mixture_nll_digits']} test digits ({gain:.2f} ± "
        f"{gain_half:.2f} nats apart, paired)."
    )


def q1(numbers: dict[str, Any]) -> str:
    """The discussion of Question 1 (Markdown), from the numbers recorded by the notebook's Question 1 cells."""
    rows = numbers["inpainting"]
    top = _by_method(rows, "top")
    raster, cond = top["raster"], top["conditional"]
    unseen = list(dict.fromkeys(r["holes"] for r in rows if r["holes"] != "none" and not r["seen"]))
    lines = [
        f"The PixelCNN's NLL on all 10000 test digits is {numbers['pixelcnn_nll']:.2f} nats per digit (published, "
        f"far larger: {PUBLISHED_PIXELCNN_NLL:.2f}).",
        _samples_sentence(numbers),
        _raster_sentence(rows),
        _vote_sentence(top, "Seeing every visible pixel of a top hole, the conditional model"),
    ]
    lines += [_vote_sentence(_by_method(rows, h), f"On {h} holes, never seen in training, it") for h in unseen[:1]]
    lines.append(
        f"Its exact top-hole NLL, {cond['nll'][0]:.1f} nats, is {relation(*cond['nll'], *raster['nll'])} raster's "
        f"{raster['nll'][0]:.1f}; the binarization noise alone costs {top[CONTEXT]['nll'][0]:.1f}."
    )
    return "**Discussion.** " + " ".join(lines)


def q2(numbers: dict[str, Any]) -> str:
    """The discussion of Question 2 (Markdown), from the numbers recorded by the notebook's Question 2 cells."""
    quality = numbers["realnvp_quality"]
    shown = next(q for q in quality if q["temperature"] == numbers["realnvp_temperature"])
    floor = numbers["realnvp_floor"]
    bpd, bpd_half = numbers["realnvp_bpd_interval"]
    versus = [
        f"{relation(bpd, bpd_half, value, half)} the {value}"
        for value, half in ((REALNVP5_BPD, REALNVP5_BPD_HALF), (MAF_BPD, MAF_BPD_HALF))
    ]
    lines = [
        f"Real NVP reaches {bpd:.4f} ± {bpd_half:.4f} bits/dim on the 10000 test digits: {versus[0]} of a "
        f"fully-connected Real NVP with 5 couplings and {versus[1]} of MAF(5) (Papamakarios et al. 2017).",
        f"The temperature of lowest FID against training digits is T = {shown['temperature']}; there, against test "
        f"digits, its samples' FID is {shown['fid']:.0f} (real training digits: {floor['fid']:.1f}) and the "
        f"classifier labels {100 * shown['confident']:.0f} ± {100 * shown['confident_half_width']:.0f}% of them with "
        f"confidence (real digits: {100 * floor['confident']:.0f}%).",
    ]
    digit = next(
        q for q in numbers["realnvp_digit_quality"] if q["temperature"] == numbers["realnvp_digit_temperature"]
    )
    gain, gain_half = numbers["realnvp_digit_gain"]
    lines.append(
        f"A Gaussian per digit, fitted to the latents without further training, gives "
        f"{numbers['realnvp_digit_bpd']:.4f} bits/dim, {relation(-gain, gain_half, 0.0, 0.0)} the plain base "
        f"({-gain:+.5f} ± {gain_half:.5f}, paired on the same digits and noise); at its chosen T = "
        f"{digit['temperature']} its samples' FID is {digit['fid']:.0f}, {100 * digit['confident']:.0f}% labelled "
        f"with confidence, the told digit named for {100 * digit['agree']:.0f} ± "
        f"{100 * digit['agree_half_width']:.0f}%."
    )
    lines.append(
        "A good likelihood and good samples are different goals (Theis et al. 2016); the FID measures the second."
    )
    return "**Discussion.** " + " ".join(lines)
