"""asgn2: reference solution to Assignment 2, Explicit Methods for Generation.

Modules: `data` (MNIST, binarization), `training` (the shared loop, checkpoints), `classifier` (FID features and
digit judge), `profiles`, `cli`.
"""

__version__ = "0.1.0"
