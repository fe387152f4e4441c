"""The published results the notebook and the README compare with, in one place."""

PUBLISHED_PIXELCNN_NLL = (
    81.30  # nats per image, binarized MNIST: PixelCNN, van den Oord et al. 2016 (a far larger model)
)
MAF_BPD = 1.89  # bits/dim, MNIST: MAF(5), Papamakarios et al. 2017, a fully-connected flow
MAF_MOG_BPD = 1.52  # bits/dim, MNIST: MAF MoG(5), Papamakarios et al. 2017
