"""What the profiles mean, in one place: every model's run specification and the evaluation sizes.

`quick` is a smoke test of everything, `default` is sized for a 2-to-8-core laptop CPU (the whole notebook within
15 minutes: every training run has a time budget), `full` is meant for a GPU. Every profile states each field of
its networks. Training entry points take the specs below, and a checkpoint is reused only for the spec it was
trained with. Why each default is what it is: docs/design.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .classifier import ClassifierSpec
from .conditional import ConditionalSpec, ConditionConfig
from .inpainting_eval import InpaintingEvalSpec
from .pixelcnn import PixelCNNConfig, PixelCNNSpec
from .realnvp import RealNVPConfig, RealNVPSpec
from .recogniser import RecogniserSpec
from .training import TrainConfig

PROFILE_NAMES = ("quick", "default", "full")


@dataclass(frozen=True)
class Profile:
    name: str
    classifier: ClassifierSpec
    pixelcnn: PixelCNNSpec  # programming Q1: the plain PixelCNN, trained with the plain loss on whole images
    conditional: ConditionalSpec  # beyond Q1: the conditional PixelCNN, which starts from the plain one's layers
    realnvp: RealNVPSpec
    inpainting: InpaintingEvalSpec
    fid_samples: int  # images per set in the notebook's FID table
    mixture_nll_digits: int  # test digits of the notebook's label-mixture NLL (ten passes each)


def _classifier(name: str, epochs: int, warmup_steps: int) -> ClassifierSpec:
    # one epoch is 468 steps of 128 digits
    return ClassifierSpec(name, TrainConfig(epochs=epochs, lr=3e-3, warmup_steps=warmup_steps, weight_decay=1e-4))


def _recogniser(
    name: str, epochs: int, time_budget_s: float | None = None, max_steps: int | None = None
) -> RecogniserSpec:
    # trained first, then frozen in the conditional PixelCNN; a time cap anneals the learning rate by time if it binds.
    # Seed 1: its data order and its holes are not the PixelCNN's (seed 0)
    config = TrainConfig(
        epochs=epochs,
        max_steps=max_steps,
        time_budget_s=time_budget_s,
        lr=3e-3,
        warmup_steps=50,
        weight_decay=1e-4,
        seed=1,
    )
    return RecogniserSpec(name, config, width=16)


# The plain PixelCNNs (programming Q1); each conditional run below takes its settings and changes its length. The
# time budget binds on a CPU (how many steps fit depends on the CPU: benchmarks/RESULTS.md), the step cap on a GPU.
QUICK_PIXELCNN = PixelCNNSpec(
    "quick",
    PixelCNNConfig(channels=32, n_blocks=4, kernel_size=3, head_channels=32),
    TrainConfig(epochs=1, max_steps=100, batch_size=64, lr=3e-3, warmup_steps=20, bf16=True),
    eval_images=500,
)
DEFAULT_PIXELCNN = PixelCNNSpec(
    "default",
    PixelCNNConfig(channels=32, n_blocks=5, kernel_size=5, head_channels=64),
    TrainConfig(
        epochs=5,
        max_steps=2400,
        time_budget_s=170,
        batch_size=64,
        lr=5e-3,
        warmup_steps=100,
        eval_every=500,
        checkpoint_every=200,
        bf16=True,
    ),
)
FULL_PIXELCNN = PixelCNNSpec(
    "full",
    PixelCNNConfig(channels=128, n_blocks=12, kernel_size=5, head_channels=256),
    TrainConfig(epochs=30, lr=1e-3, warmup_steps=500, eval_every=2000, checkpoint_every=1000, bf16=True),
)

PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        classifier=_classifier("quick", epochs=1, warmup_steps=50),
        pixelcnn=QUICK_PIXELCNN,
        conditional=ConditionalSpec(
            "quick",
            QUICK_PIXELCNN.model,
            ConditionConfig(channels=16, recogniser_width=16),
            replace(QUICK_PIXELCNN.train, max_steps=60, warmup_steps=10),
            p_all_holes=0.5,
            p_label_fed=0.75,
            recogniser=_recogniser("quick", epochs=1, max_steps=100),
            eval_images=500,
            start=QUICK_PIXELCNN,
        ),
        realnvp=RealNVPSpec(
            "quick",
            RealNVPConfig(n_couplings=4, hidden=256, n_hidden=1),
            TrainConfig(epochs=1, max_steps=200, lr=1e-3, warmup_steps=20, eval_every=100),
            eval_images=1000,
        ),
        inpainting=InpaintingEvalSpec(digits=100, samples=8, candidates=8, kinds=("top", "bottom", "ring")),
        fid_samples=200,
        mixture_nll_digits=200,
    ),
    "default": Profile(
        name="default",
        classifier=_classifier("default", epochs=2, warmup_steps=100),
        pixelcnn=DEFAULT_PIXELCNN,
        conditional=ConditionalSpec(
            "default",
            DEFAULT_PIXELCNN.model,
            ConditionConfig(channels=16, recogniser_width=16),
            # the plain PixelCNN's 170 s and these 120 s: the 290 s one network trained for both roles had
            replace(DEFAULT_PIXELCNN.train, max_steps=1700, time_budget_s=120, warmup_steps=50),
            p_all_holes=0.5,
            p_label_fed=0.75,
            recogniser=_recogniser("default", epochs=3, time_budget_s=60),
            start=DEFAULT_PIXELCNN,
        ),
        realnvp=RealNVPSpec(
            "default",
            RealNVPConfig(n_couplings=12, hidden=256, n_hidden=1),
            TrainConfig(  # the time cap binds on a CPU; the step cap, above what a CPU makes in 190 s, on a GPU
                epochs=13,
                max_steps=6000,
                time_budget_s=190,
                lr=1e-3,
                warmup_steps=100,
                weight_decay=1e-5,
                eval_every=400,
                checkpoint_every=400,
            ),
        ),
        inpainting=InpaintingEvalSpec(digits=1000, samples=8, candidates=8, kinds=("top", "bottom", "ring")),
        fid_samples=1000,
        mixture_nll_digits=1000,
    ),
    "full": Profile(
        name="full",
        classifier=_classifier("full", epochs=8, warmup_steps=200),
        pixelcnn=FULL_PIXELCNN,
        conditional=ConditionalSpec(
            "full",
            FULL_PIXELCNN.model,
            ConditionConfig(channels=64, recogniser_width=16),
            replace(FULL_PIXELCNN.train, epochs=10, warmup_steps=200),
            p_all_holes=0.5,
            p_label_fed=0.75,
            recogniser=_recogniser("full", epochs=10),
            start=FULL_PIXELCNN,
        ),
        realnvp=RealNVPSpec(
            "full",
            RealNVPConfig(n_couplings=10, hidden=1024, n_hidden=2),
            TrainConfig(
                epochs=100, lr=1e-3, warmup_steps=500, weight_decay=1e-5, eval_every=5000, checkpoint_every=2000
            ),
        ),
        inpainting=InpaintingEvalSpec(digits=10000, samples=8, candidates=32),
        fid_samples=10000,
        mixture_nll_digits=10000,
    ),
}


def resolve_profile(name: str | None = None) -> str:
    """The argument, else env `ASGN2_PROFILE`, else "default"."""
    name = name or os.environ.get("ASGN2_PROFILE") or "default"
    if name not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {name!r}")
    return name


def get_profile(name: str | None = None) -> Profile:
    """The profile `name` (else env `ASGN2_PROFILE`, else "default")."""
    return PROFILES[resolve_profile(name)]
