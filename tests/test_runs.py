"""What a saved run is reused for: only the same spec, trained in the same precision and device class; and faults
answered with what happened, where, and what to do."""

from __future__ import annotations

import pytest
import torch

from asgn2 import digit_base, pixelcnn, runs
from asgn2.checkpoints import CheckpointWriteError, SpecMismatchError, load_checkpoint, save_checkpoint
from asgn2.training import TrainConfig

CONFIG = pixelcnn.PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4)


def images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_a_checkpoint_records_the_precision_that_trained_it_and_serves_no_other(monkeypatch, tmp_path):
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path))
    spec = pixelcnn.PixelCNNSpec("precision", CONFIG, TrainConfig(max_steps=2, batch_size=8, bf16=True), 8)
    monkeypatch.setenv("ASGN2_BF16", "0")  # a CPU without fast bf16: the run trains in float32, and says so
    pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))
    saved = load_checkpoint(tmp_path / "pixelcnn-precision.pt")["spec"]
    assert saved["precision"] == "float32" and saved["device"] == "cpu"
    assert runs.trained_in(spec, "cpu") == {"precision": "float32", "device": "cpu"}
    pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))  # the same precision: loaded
    monkeypatch.setenv("ASGN2_BF16", "1")  # now the run would train in bf16: the float32 model is not served
    with pytest.raises(SpecMismatchError, match=r"precision: 'float32' -> 'bfloat16'"):
        pixelcnn.train_pixelcnn(spec, images(16, 0), images(8, 1))


def test_a_full_disk_names_the_checkpoint_and_what_to_do(monkeypatch, tmp_path):
    """torch reports a full disk as "[enforce fail at inline_container.cc:672] unexpected pos ..."; the answer says
    which file, that the previous one is intact, and what to do; nothing half-written is left."""
    path = tmp_path / "run.pt"
    save_checkpoint({"value": torch.tensor(1.0)}, path)

    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64128 vs 64024")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointWriteError, match=r"run\.pt .*previous checkpoint there is intact.*disk full"):
        save_checkpoint({"value": torch.tensor(2.0)}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["value"].item() == 1.0 and [p.name for p in tmp_path.iterdir()] == ["run.pt"]


def test_a_label_prior_with_a_nan_is_refused_plainly():
    from asgn2 import conditional

    prior = torch.full((10,), 0.1)
    prior[3] = float("nan")
    with pytest.raises(ValueError, match="label_prior must be finite"):
        conditional.check_label_prior(prior)


def test_a_digit_outside_0_to_9_is_refused_plainly():
    base = digit_base.DiagonalGaussianMixture(torch.zeros(10, 4), torch.zeros(10, 4), torch.full((10,), 0.1))
    with pytest.raises(ValueError, match=r"component indices 0\.\.9"):
        base.sample_components(torch.tensor([2, 11]))


def test_a_spec_trains_the_same_weights_whatever_ran_before(monkeypatch, tmp_path):
    """Initial weights come from the spec's seed ("init" stream), not from the global RNG at call time: the same
    spec trained twice, after different global seeds, gives identical weights; another seed, other weights."""
    spec = pixelcnn.PixelCNNSpec("seeded", CONFIG, TrainConfig(max_steps=3, batch_size=8, seed=5), 8)
    trained = []
    for k, (global_seed, seed) in enumerate([(0, 5), (123, 5), (0, 6)]):
        monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path / str(k)))
        torch.manual_seed(global_seed)
        run = pixelcnn.PixelCNNSpec("seeded", CONFIG, TrainConfig(max_steps=3, batch_size=8, seed=seed), 8)
        trained.append(pixelcnn.train_pixelcnn(run, images(16, 0), images(8, 1))[0].state_dict())
    assert spec.train.seed == 5
    assert all(torch.equal(a, b) for a, b in zip(trained[0].values(), trained[1].values(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(trained[0].values(), trained[2].values(), strict=True))


def test_loading_a_finished_conditional_model_trains_nothing_else(monkeypatch, tmp_path):
    """The recogniser and the plain PixelCNN it starts from are needed before the conditional network's first step
    only: loading the finished run trains neither (their checkpoints deleted here stay absent)."""
    from asgn2 import conditional, recogniser

    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path))
    labelled = (images(16, 0), torch.arange(16) % 10)
    spec = conditional.ConditionalSpec(
        "load",
        CONFIG,
        conditional.ConditionConfig(channels=4, recogniser_width=2),
        TrainConfig(max_steps=2, batch_size=8),
        recogniser=recogniser.RecogniserSpec("load", TrainConfig(max_steps=2, batch_size=8), width=2),
        eval_images=8,
        start=pixelcnn.PixelCNNSpec("load", CONFIG, TrainConfig(max_steps=2, batch_size=8), 8),
    )
    model, _ = conditional.train_conditional(spec, labelled, labelled)
    for kind in ("recogniser", "pixelcnn"):
        (tmp_path / f"{kind}-load.pt").unlink()
    loaded, history = conditional.train_conditional(spec, labelled, labelled)
    assert history.steps == 2 and sorted(p.name for p in tmp_path.glob("*.pt")) == ["conditional-load.pt"]
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )


def test_a_double_precision_flow_trains_samples_and_scores():
    """The flow works in float64 throughout (forward, inverse, log-det); the loss, the test bits/dim and sampling
    hand it float64 too (dequantized pixels and latents used to stay float32: "mat1 and mat2 must have the same
    dtype")."""
    from asgn2 import realnvp

    flow = realnvp.real_nvp(realnvp.RealNVPConfig(n_couplings=2, hidden=8)).double()
    x = images(4, 0)
    loss = realnvp.realnvp_loss(flow, x)
    assert loss.dtype == torch.float64 and torch.isfinite(loss)
    assert 0 < realnvp.test_bits_per_dim(flow, x) < 100
    assert realnvp.sample(flow, 3).shape == (3, 1, 28, 28)
