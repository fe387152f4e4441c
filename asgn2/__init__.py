"""asgn2: reference solution to Assignment 2, Explicit Methods for Generation.

The answers, each readable alone: programming Q1 `pixelcnn`; programming Q2 `flows`, `realnvp`; written Q1, Q3, Q4
`latent_bayes`, `divergences`, `fid`. Beyond the questions, built on the answers: `conditional`, `recogniser`,
`holes`, `sampler`, `inpainting` (Q1); `digit_base` (Q2). Evaluation: `inpainting_eval`, `realnvp_eval`,
`sample_scores`, `classifier`; `checks`, the answer's tests made usable on any implementation. Infrastructure:
`data`, `randomness`, `training`, `runs`, `checkpoints`, `profiles`, `runtime`, `units`, `intervals`, `published`,
`display`, `report`, `discussion`, `submit`, `cli`.
"""

__version__ = "0.1.0"
