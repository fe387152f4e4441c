"""The published results the notebook and the README compare with, in one place."""

PUBLISHED_PIXELCNN_NLL = (
    81.30  # nats per image, binarized MNIST: PixelCNN, van den Oord et al. 2016 (a far larger model)
)
# Papamakarios et al. 2017 (MAF), unconditional MNIST, bits/dim. Their Real NVP is the like-for-like baseline:
# couplings with fully-connected networks, as here. The paper's table gives log-likelihoods in logit space; these
# are converted with the logit transform's log-determinant averaged over the dequantized test set (the conversion
# gives back the paper's own 1.89 and 1.52 for MAF(5) and MAF MoG(5)).
REALNVP5_BPD = 1.93  # Real NVP, 5 couplings (logit-space log-likelihood -1323.2 nats)
REALNVP10_BPD = 2.02  # Real NVP, 10 couplings (-1370.7)
MAF_BPD = 1.89  # MAF(5), masked autoregressive flow (-1300.5)
MAF_MOG_BPD = 1.52  # MAF MoG(5), MAF with a mixture-of-Gaussians base (-1100.3)
# the paper's error bars (two standard errors: 6.6 and 1.7 nats per image), in bits/dim
REALNVP5_BPD_HALF = 0.012
MAF_BPD_HALF = 0.003
