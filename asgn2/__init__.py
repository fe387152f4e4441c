"""asgn2: reference solution to Assignment 2, Explicit Methods for Generation.

Programming Q1: `pixelcnn` (the masked CNN, plain and conditional), `sampling` (the cached raster-order sampler),
`holes`, `inpainting`, `inpainting_eval`. Programming Q2: `flows`, `realnvp`. Written questions: `latent_bayes`,
`divergences`, `fid`. Shared: `data`, `classifier`, `training`, `checkpoints`, `cache`, `randomness`, `runtime`,
`profiles`, `metrics`, `display`, `submit`, `report`, `cli`.
"""

__version__ = "0.1.0"
