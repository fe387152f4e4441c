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

from .inpainting_eval import CONTEXT
from .published import MAF_BPD, PUBLISHED_PIXELCNN_NLL

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


def _vote_sentence(methods: dict[str, Row], where: str) -> str:
    cond, nearest, knn = methods["conditional"], methods["nearest"], methods[CONTEXT]
    versus = [
        f"{relation(*cond['vote'], *other['vote'])} {name} ({_percent(other, 'vote')})"
        for name, other in (("the nearest training digit", nearest), ("the 10-NN vote", knn))
    ]
    return f"{where} votes right for {_percent(cond, 'vote')}, {versus[0]} and {versus[1]}."


def _sir_sentence(sir: Row, raster: Row) -> str:
    ess = sir["ess"][0]
    keeps = "mostly redraws one" if ess < 2 else f"keeps about {ess:.1f}"
    return (
        f"SIR, weighing raster's candidates by the visible pixels, {keeps} (effective sample size {ess:.1f}); "
        f"its vote ({_percent(sir, 'vote')}) is {relation(*sir['vote'], *raster['vote'])} raster's "
        f"({_percent(raster, 'vote')})."
    )


def _samples_sentence(numbers: dict[str, Any]) -> str:
    """The PixelCNN's samples, then the label mixture's samples and NLL, as the notebook's tables print them."""
    untold, mixture = numbers["pixelcnn_untold_scores"], numbers["pixelcnn_mixture_scores"]
    gain, gain_half = numbers["pixelcnn_mixture_gain"]
    clearer = "clearer" if mixture["confident"] > untold["confident"] else "no clearer"
    return (
        f"Its samples' FID is {untold['fid']:.1f} (binarized training digits: {numbers['pixelcnn_fid_floor']:.1f}), "
        f"{100 * untold['confident']:.1f}% labelled with confidence. Told a digit, the conditional network draws "
        f"{clearer} ones: FID {mixture['fid']:.1f}, {100 * mixture['confident']:.1f}% confident, the told digit "
        f"named for {100 * mixture['agree']:.1f}%; the label mixture's exact NLL, "
        f"{numbers['pixelcnn_mixture_nll']:.2f} nats on the first {numbers['pixelcnn_mixture_nll_digits']} test "
        f"digits, is {relation(-gain, gain_half, 0.0, 0.0)} the PixelCNN's {numbers['pixelcnn_untold_nll_subset']:.2f}."
    )


def q1(numbers: dict[str, Any]) -> str:
    """The discussion of Question 1 (Markdown), from the numbers recorded by the notebook's Question 1 cells."""
    rows = numbers["inpainting"]
    top = _by_method(rows, "top")
    raster, sir, cond = top["raster"], top["sir"], top["conditional"]
    floor = top[CONTEXT]["nll"][0]
    unseen = list(dict.fromkeys(r["holes"] for r in rows if r["holes"] != "none" and not r["seen"]))
    lines = [
        f"The PixelCNN's test NLL is {numbers['pixelcnn_nll']:.2f} nats per digit, against "
        f"{PUBLISHED_PIXELCNN_NLL:.2f} for the far larger published PixelCNN.",
        _samples_sentence(numbers),
        f"On top-half holes raster completions are named as the true digit {_percent(raster, 'agree')} of the "
        f"time, {relation(*raster['agree'], *cond['agree'])} the conditional model's {_percent(cond, 'agree')}. "
        + _sir_sentence(sir, raster),
        _vote_sentence(top, "Seeing every visible pixel of the top half, the conditional model"),
    ]
    lines += [_vote_sentence(_by_method(rows, h), f"On {h} holes, never seen in training, it") for h in unseen[:1]]
    lines.append(
        f"Its exact hole NLL on the top half is {cond['nll'][0]:.1f} nats, "
        f"{relation(*cond['nll'], *raster['nll'])} raster's {raster['nll'][0]:.1f}; the binarization noise alone "
        f"is {floor:.1f}, a floor no model can expect to beat."
    )
    return "**Discussion.** " + " ".join(lines)


def q2(numbers: dict[str, Any]) -> str:
    """The discussion of Question 2 (Markdown), from the numbers recorded by the notebook's Question 2 cells."""
    quality = numbers["realnvp_quality"]
    shown = next(q for q in quality if q["temperature"] == numbers["realnvp_temperature"])
    coldest = min(quality, key=lambda q: q["temperature"])
    floor = numbers["realnvp_floor"]
    bpd = numbers["realnvp_bpd"]
    lines = [
        f"Real NVP reaches {bpd:.4f} bits/dim on the test digits, {'below' if bpd < MAF_BPD else 'above'} the "
        f"{MAF_BPD} of MAF(5), a fully-connected flow of the same kind.",
        f"Its samples are {'far from' if shown['fid'] > 3 * floor['fid'] else 'close to'} real digits: at "
        f"T = {shown['temperature']} their FID is {shown['fid']:.0f} "
        f"against {floor['fid']:.1f} for real training digits, and the classifier labels "
        f"{100 * shown['confident']:.0f}% of them with confidence, against {100 * floor['confident']:.0f}% of real "
        "digits.",
    ]
    if coldest is not shown:
        colder = relation(
            coldest["confident"], coldest["confident_half_width"], shown["confident"], shown["confident_half_width"]
        )
        why = {
            "below": ": in logit space the latent's centre maps to faint strokes, so colder samples are dimmer",
            "level with": ": a lower temperature does not make the samples more digit-like",
            "above": ": colder samples are more often recognisable, though their FID is higher",
        }[colder]
        lines.append(
            f"At T = {coldest['temperature']} the FID is {coldest['fid']:.0f} and the confident share "
            f"{100 * coldest['confident']:.0f}%, {colder} that at T = {shown['temperature']}{why}."
        )
    digit = next(
        q for q in numbers["realnvp_digit_quality"] if q["temperature"] == numbers["realnvp_digit_temperature"]
    )
    lines.append(
        f"A Gaussian per digit, fitted to its latents without further training, gives "
        f"{numbers['realnvp_digit_bpd']:.4f} "
        f"bits/dim and at T = {digit['temperature']} an FID of {digit['fid']:.0f}, {100 * digit['confident']:.0f}% "
        f"labelled with confidence, the told digit named for {100 * digit['agree']:.0f}%."
    )
    lines.append(
        "A fully-connected flow has no notion of image locality: a good likelihood and good samples are different "
        "goals (Theis et al. 2016), and the FID measures the second."
    )
    return "**Discussion.** " + " ".join(lines)
