"""Notebook display helpers."""

from __future__ import annotations

import pytest
import torch

from asgn2.data import binarize
from asgn2.display import image_grid, show_source


def test_show_source_holds_the_code():
    code = show_source(binarize)
    assert "def binarize(" in code.data and "Bernoulli" in code.data


def test_image_grid_tiles_and_scales():
    images = torch.full((6, 1, 4, 5), 255, dtype=torch.uint8)
    grid = image_grid(images, nrow=3, pad=1, pad_value=0.0)
    assert grid.shape == (2 * 4 + 3, 3 * 5 + 4)  # 2 rows x 3 columns, padding around every tile
    assert grid.max() == 1.0 and grid.min() == 0.0
    assert grid[1:5, 1:6].eq(1.0).all()  # the first tile, scaled to [0, 1]
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        image_grid(torch.zeros(3, 4, 5))
