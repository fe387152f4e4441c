"""asgn2: reference solution to Assignment 2, Explicit Methods for Generation.

Modules: `pixelcnn`, `inpainting` (programming Q1); `flows`, `realnvp` (programming Q2); `latent_bayes`,
`divergences`, `fid` (written Q1, Q3, Q4); `data` (MNIST, binarization), `training` (the shared loop, checkpoints),
`classifier` (FID features and digit judge), `display`, `submit` (the bundle), `report` (the results table),
`profiles`, `cli`.
"""

__version__ = "0.1.0"
