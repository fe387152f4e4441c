"""Sampling a PixelCNN pixel by pixel in raster order: unconditional samples, and the hole pixels of inpainting.

`known` is a bool tensor (N, 1, H, W), True where a pixel is observed; the sampler draws the others (the hole) in
raster order from p(x_i | x_<i) and returns observed pixels bit for bit.
"""

from __future__ import annotations

import torch

from .data import IMAGE_SHAPE
from .pixelcnn import PixelCNN, check_binary_images


def check_known(images: torch.Tensor, known: torch.Tensor) -> None:
    """Raise ValueError unless images are binary (N, 1, H, W) and known is a bool mask of the same shape."""
    check_binary_images(images)
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool or known.shape != images.shape:
        got = f"{known.dtype} {tuple(known.shape)}" if isinstance(known, torch.Tensor) else type(known).__name__
        raise ValueError(
            f"known must be a bool tensor of the images' shape {tuple(images.shape)} (True = observed), got {got}"
        )


def _uniforms(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One uniform per pixel, drawn up front: pixel i is set to 1 iff u_i < p(x_i = 1 | x_<i). Drawing them all at
    once makes a sampler's output a function of (model, x, known, generator) alone, whichever pixels it visits."""
    return torch.rand(x.shape, generator=generator).to(x.device)


@torch.no_grad()
def sample_holes(
    model: PixelCNN, x: torch.Tensor, known: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill the hole pixels of binary images x (N, 1, H, W) in raster order; the fast sampler.

    It starts at the first row that has a hole pixel, skips pixels that are observed in every image, and computes
    only the rows that the current pixel's receptive field needs (`PixelCNN.row_logits`). Same output as
    `sample_holes_naive` for the same generator.
    """
    check_known(x, known)
    model.eval()
    x, hole, u = x.clone(), ~known, _uniforms(x, generator)
    for row in hole.any(dim=(0, 1, 3)).nonzero().flatten().tolist():
        for col in hole[:, 0, row].any(dim=0).nonzero().flatten().tolist():
            p = torch.sigmoid(model.row_logits(x, row)[:, 0, 0, col])
            draw = (u[:, 0, row, col] < p).to(x.dtype)
            x[:, 0, row, col] = torch.where(hole[:, 0, row, col], draw, x[:, 0, row, col])
    return x


@torch.no_grad()
def sample_holes_naive(
    model: PixelCNN, x: torch.Tensor, known: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The reference sampler: the whole network on the whole image for each of the H*W pixels in raster order."""
    check_known(x, known)
    model.eval()
    x, hole, u = x.clone(), ~known, _uniforms(x, generator)
    for row in range(x.shape[2]):
        for col in range(x.shape[3]):
            p = torch.sigmoid(model(x)[:, 0, row, col])
            draw = (u[:, 0, row, col] < p).to(x.dtype)
            x[:, 0, row, col] = torch.where(hole[:, 0, row, col], draw, x[:, 0, row, col])
    return x


@torch.no_grad()
def sample(
    model: PixelCNN,
    n: int,
    generator: torch.Generator | None = None,
    image_shape: tuple[int, int, int] = IMAGE_SHAPE,
) -> torch.Tensor:
    """n unconditional samples, float {0, 1} (n, 1, H, W): inpainting with every pixel a hole."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    device = next(model.parameters()).device
    x = torch.zeros(n, *image_shape, device=device)
    return sample_holes(model, x, torch.zeros_like(x, dtype=torch.bool), generator)
