"""The cached sampler equals the naive one exactly at the size real evaluations sample (hundreds of rows: 300 here,
past the 256 rows at which `_ActivationCache._conv_at` switches from one matrix product per window to one per kernel
row), for raster sampling (of the plain PixelCNN and of the conditional one used as a plain PixelCNN) and for
conditional sampling told a digit per completion, with both kernel sizes that profiles use in the mask-B layers (3
and 5). The naive sampler is the definition, `pixelcnn.inpaint` (of `conditional.Told` for conditional sampling)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from asgn2 import pixelcnn, sampler
from asgn2.conditional import ConditionalPixelCNN, ConditionConfig, Told
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.runtime import intra_op_threads
from asgn2.sampler import sample_and_score, sample_holes

REPEATS = 100  # completions of each of 3 images: 300 rows


def model_with_kernel(kernel_size: int, conditional: bool = True) -> PixelCNN:
    """A conditional PixelCNN, or with `conditional=False` a plain one of the same network sizes."""
    torch.manual_seed(kernel_size)
    config = PixelCNNConfig(channels=8, n_blocks=2, kernel_size=kernel_size, head_channels=8)
    if not conditional:
        model = PixelCNN(config)
    else:
        model = ConditionalPixelCNN(config, ConditionConfig(channels=4, recogniser_width=4))
    for p in model.parameters():
        p.data.normal_(0, 0.3)  # logits of hole pixels in the 0.2 to 0.9 range: every draw is a coin
    if conditional:
        model.condition.embed.weight.data *= 20  # and the told digit matters
    return model.eval()


def varies(completions: torch.Tensor, known: torch.Tensor) -> bool:
    """Whether every hole pixel of every image is drawn both 0 and 1 among its completions."""
    per_image = completions.view(known.shape[0], REPEATS, -1)
    ones = [per_image[i][:, (~k).flatten()].mean(0) for i, k in enumerate(known)]  # per hole pixel
    return all(0 < f.min() and f.max() < 1 for f in ones)


def images_and_holes() -> tuple[torch.Tensor, torch.Tensor]:
    """Three images, each with its own few hole pixels in rows 9 to 12: rows above them are the cached prefix, a
    hole pixel in row 10 sees the one drawn in row 9, and each image keeps its observed pixels where another image
    has its hole. Few hole pixels keep the naive sampler (one whole-network pass per pixel) cheap."""
    x = (torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    known = torch.ones_like(x, dtype=torch.bool)
    for image, pixels in enumerate([[(9, 5), (10, 4)], [(10, 4), (12, 20)], [(12, 20), (9, 6)]]):
        for r, c in pixels:
            known[image, 0, r, c] = False
    return x, known


@pytest.fixture(autouse=True)
def one_thread():
    """The naive sampler's whole-network passes over 300 rows: threads cost more than they save on a busy 2-core
    machine."""
    with intra_op_threads(1):
        yield


@pytest.mark.parametrize("model", ["plain", "conditional"])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_raster_sampling_and_scores_equal_the_naive_sampler_at_300_rows(kernel_size, model):
    model, (x, known) = model_with_kernel(kernel_size, conditional=model == "conditional"), images_and_holes()
    rows, known_rows = x.repeat_interleave(REPEATS, 0), known.repeat_interleave(REPEATS, 0)
    assert sampler.chunk_rows(model, rows, REPEATS) >= rows.shape[0] >= 256  # one chunk, on the large-batch path
    fast, log_observed = sample_and_score(model, x, known, generator=torch.Generator().manual_seed(7), repeats=REPEATS)
    naive = pixelcnn.inpaint(model, rows, known_rows, generator=torch.Generator().manual_seed(7))
    assert torch.equal(fast, naive)
    assert varies(fast, known)
    with torch.no_grad():  # sir's weight: the log-likelihood of the observed pixels, from one pass of the network
        log_p = -F.binary_cross_entropy_with_logits(model(naive), naive, reduction="none")
    assert torch.allclose(log_observed, (log_p * known_rows).flatten(1).sum(1), atol=1e-3)


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_conditional_sampling_told_labels_equals_the_naive_sampler_at_300_rows(kernel_size):
    model, (x, known) = model_with_kernel(kernel_size), images_and_holes()
    rows, known_rows = x.repeat_interleave(REPEATS, 0), known.repeat_interleave(REPEATS, 0)
    labels = torch.randint(-1, 10, (rows.shape[0],), generator=torch.Generator().manual_seed(1))  # -1: none told
    assert sampler.chunk_rows(model, rows) >= rows.shape[0] >= 256
    fast = sample_holes(
        model, x, known, generator=torch.Generator().manual_seed(7), conditional=True, repeats=REPEATS, labels=labels
    )
    naive = pixelcnn.inpaint(
        Told(model, known_rows, labels), rows, known_rows, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(fast, naive) and varies(fast, known)
    untold = sample_holes(
        model, x, known, generator=torch.Generator().manual_seed(7), conditional=True, repeats=REPEATS
    )
    assert not torch.equal(fast, untold)  # the told digits change what is drawn
