"""Hole masks: which pixels of a 28 x 28 digit are missing.

A mask is `known`, bool (N, 1, H, W), True where the pixel is observed; the hole is `~known`.

- `hole_mask(kind, n, seed)`: the evaluation families. Seen in training (as members of the training family):
  top / bottom / left / right halves, a centred square, random rectangles, brush strokes (after the irregular masks
  of Liu et al. 2018). Never seen in training (`UNSEEN`): a diagonal half and a ring.
- `training_holes(n, generator, p_all)`: the broad random family the conditional PixelCNN is trained on: with
  probability p_all every pixel is a hole (plain PixelCNN training), else halves on every side split anywhere,
  1-3 rectangles, brush strokes, or scattered pixels.
"""

from __future__ import annotations

import math

import torch

from .data import IMAGE_SHAPE
from .randomness import generator as stream

SEEN = ("top", "bottom", "left", "right", "centre", "rectangles", "brush")
UNSEEN = ("diagonal", "ring")
HOLE_KINDS = SEEN + UNSEEN
H, W = IMAGE_SHAPE[1:]


def hole_mask(kind: str, n: int, seed: int = 0) -> torch.Tensor:
    """`known` (n, 1, 28, 28) for an evaluation family; random families are drawn from the "holes" stream, `seed`."""
    if kind not in HOLE_KINDS:
        raise ValueError(f"kind must be one of {HOLE_KINDS}, got {kind!r}")
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    fixed = {
        "top": rows < H // 2,
        "bottom": rows >= H // 2,
        "left": cols < W // 2,
        "right": cols >= W // 2,
        "centre": (rows >= H // 4) & (rows < 3 * H // 4) & (cols >= W // 4) & (cols < 3 * W // 4),
        "diagonal": rows + cols >= H,  # the bottom-right triangle below the anti-diagonal
        "ring": ((rows - 13.5) ** 2 + (cols - 13.5) ** 2 - 7.0**2).abs() <= 2.5 * 7.0,  # radius 7, about 2.5 wide
    }
    if kind in fixed:
        hole = fixed[kind].expand(n, 1, H, W)
    else:
        generator = stream("holes", seed)
        draw = _rectangles if kind == "rectangles" else _brush_strokes
        hole = torch.stack([draw(generator) for _ in range(n)]).unsqueeze(1)
    return ~hole.clone()


def training_holes(n: int, generator: torch.Generator | None = None, p_all: float = 0.5) -> torch.Tensor:
    """`known` (n, 1, 28, 28) from the training family (module docstring); `generator` None draws from the global
    RNG, i.e. the training stream inside `training.train`."""
    if not 0 <= p_all <= 1:
        raise ValueError(f"p_all must be a probability, got {p_all}")
    uniform = lambda: float(torch.rand((), generator=generator))  # noqa: E731
    holes = []
    for _ in range(n):
        u = uniform()
        if u < p_all:
            hole = torch.ones(H, W, dtype=torch.bool)
        else:
            kind = min(int((u - p_all) / (1 - p_all) * 4), 3)
            hole = (_half, _rectangles, _brush_strokes, _scattered)[kind](generator)
        holes.append(hole)
    return ~torch.stack(holes).unsqueeze(1)


def _half(generator: torch.Generator | None) -> torch.Tensor:
    """Everything on one side (top, bottom, left or right) of a line split uniformly at 6..22."""
    side, split = int(torch.randint(4, (), generator=generator)), int(torch.randint(6, 23, (), generator=generator))
    index = torch.arange(H)
    line = index < split if side % 2 == 0 else index >= split
    return line[:, None].expand(H, W) if side < 2 else line[None, :].expand(H, W)


def _rectangles(generator: torch.Generator | None) -> torch.Tensor:
    """1-3 axis-aligned rectangles with sides 5..14."""
    hole = torch.zeros(H, W, dtype=torch.bool)
    for _ in range(int(torch.randint(1, 4, (), generator=generator))):
        h, w = (int(v) for v in torch.randint(5, H // 2 + 1, (2,), generator=generator))
        top = int(torch.randint(0, H - h + 1, (), generator=generator))
        left = int(torch.randint(0, W - w + 1, (), generator=generator))
        hole[top : top + h, left : left + w] = True
    return hole


def _brush_strokes(generator: torch.Generator | None) -> torch.Tensor:
    """1-3 strokes, each a random walk of 3-6 segments drawn with a disc of radius 1.5-2.5.

    The walk is drawn first (scalars, in the order the draws always came), then the discs are painted five segments
    at a time: half the cost of a training batch of the recogniser was painting segment by segment. Five segments
    (40 discs x 28 x 28 values) stay below the size at which torch splits an operation across threads, which on a
    busy CPU made one big operation many times slower than the old loop. Same float32 arithmetic per disc centre as
    then, so the same generator gives the same mask."""
    uniform = lambda: float(torch.rand((), generator=generator))  # noqa: E731
    starts, lengths, directions, radii = [], [], [], []  # per segment: where it starts, how long, which way (sin, cos)
    for _ in range(int(torch.randint(1, 4, (), generator=generator))):
        y, x = uniform() * H, uniform() * W
        radius = 1.5 + uniform()
        for _ in range(int(torch.randint(3, 7, (), generator=generator))):
            angle, length = uniform() * 2 * math.pi, 3 + uniform() * 6
            dy, dx = math.sin(angle), math.cos(angle)
            starts.append((y, x))
            lengths.append(length)
            directions.append((dy, dx))
            radii.append(radius**2)
            y = min(max(y + length * dy, 0.0), H - 1.0)
            x = min(max(x + length * dx, 0.0), W - 1.0)
    t = torch.linspace(0, 1, 8)[None, :]  # 8 disc centres along each segment
    start, sin_cos = torch.tensor(starts), torch.tensor(directions)
    along = t * torch.tensor(lengths)[:, None]  # (segments, 8), float32 as when painted one segment at a time
    cy = (start[:, :1] + along * sin_cos[:, :1]).flatten()[:, None, None]
    cx = (start[:, 1:] + along * sin_cos[:, 1:]).flatten()[:, None, None]
    radius2 = torch.tensor(radii).repeat_interleave(t.shape[1])[:, None, None]
    rows, cols = torch.arange(H).float()[:, None], torch.arange(W).float()[None, :]  # broadcast to (discs, H, W)
    hole = torch.zeros(H, W, dtype=torch.bool)
    for i in range(0, cy.shape[0], 5 * t.shape[1]):
        chunk = slice(i, i + 5 * t.shape[1])
        hole |= ((rows - cy[chunk]) ** 2 + (cols - cx[chunk]) ** 2 <= radius2[chunk]).any(0)
    return hole


def _scattered(generator: torch.Generator | None) -> torch.Tensor:
    """Each pixel missing independently with a probability drawn uniformly in [0.25, 0.9]."""
    rate = 0.25 + 0.65 * float(torch.rand((), generator=generator))
    return torch.rand(H, W, generator=generator) < rate
