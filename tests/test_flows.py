"""The flow contract, checked exactly: round trips, log-dets against autograd, normalised densities.

One generic round-trip test serves every transform and the whole Real NVP."""

from __future__ import annotations

import math

import pytest
import torch

from asgn2 import checks, realnvp
from asgn2.flows import Composite, Flow, Logit, Scale, StandardNormal, Transform
from asgn2.realnvp import AffineCoupling, RealNVP, RealNVPConfig, checkerboard, dequantize, real_nvp


def perturbed(transform: Transform, scale: float = 0.05, seed: int = 0) -> Transform:
    """Random parameters everywhere (couplings start as the identity, which would make the tests trivial)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in transform.parameters():
            p.add_(scale * torch.randn_like(p))
    return transform.eval()


def small_realnvp() -> RealNVP:
    """The transform f alone."""
    return perturbed(RealNVP(RealNVPConfig(n_couplings=4, hidden=32, n_hidden=1)))


def small_flow() -> Flow:
    """The model: such a transform with the standard normal base N(0, I) on R^784."""
    return perturbed(real_nvp(RealNVPConfig(n_couplings=4, hidden=32, n_hidden=1)))


def unit_inputs(n: int = 8, d: int = 784) -> torch.Tensor:
    y = torch.rand(n, d)
    y[0], y[1] = 0.0, 1.0 - 2**-20  # both ends of [0, 1)
    return y


# name -> (transform factory, input factory, the scale on which errors are measured)
CASES = {
    "scale": (lambda: Scale(1 / 256), lambda: 256 * unit_inputs(), 256.0),
    "logit 1e-6": (lambda: Logit(1e-6), unit_inputs, 1.0),
    "logit 0.05": (lambda: Logit(0.05), unit_inputs, 1.0),
    "coupling": (lambda: perturbed(AffineCoupling(checkerboard(), 64)), lambda: 3 * torch.randn(8, 784), 1.0),
    "composite": (
        lambda: perturbed(Composite([Logit(1e-6), AffineCoupling(checkerboard(), 32), Scale(0.5)])),
        unit_inputs,
        1.0,
    ),
    "realnvp random": (small_realnvp, lambda: 256 * unit_inputs(), 256.0),
    "realnvp all 0": (small_realnvp, lambda: dequantize(torch.zeros(4, 1, 28, 28, dtype=torch.uint8)), 256.0),
    "realnvp all 255": (small_realnvp, lambda: dequantize(torch.full((4, 1, 28, 28), 255, dtype=torch.uint8)), 256.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_and_log_dets_cancel(name):
    """`asgn2.checks.flow_contract`, in float64 with the parameters perturbed further: log_det of shape (N,),
    inverse(forward(x)) = x, log_det = log|det dz/dx| from autograd's slogdet, the inverse's log_det = -forward's."""
    make, inputs, _ = CASES[name]
    checks.require(checks.flow_contract(make(), inputs()))


@pytest.mark.mnist
def test_round_trip_on_real_mnist(mnist_test):
    model, v = small_realnvp(), dequantize(mnist_test[0][:64], torch.Generator().manual_seed(0))
    with torch.no_grad():
        back = model.inverse(model(v)[0])[0].view_as(v)
    assert (back - v).abs().max() / 256 < 1e-5


def test_log_det_equals_autograd_jacobian_of_full_784_dim_model():
    """The whole Real NVP: its log-det against the full 784 x 784 Jacobian's, every pixel transformed by some
    coupling, and each coupling's log-scale bounded (`asgn2.checks`)."""
    model = small_realnvp()
    v = dequantize(torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)).flatten(1)
    verdicts = checks.flow_contract(model, v, perturb=0.0)
    checks.require(verdicts, checks.every_dimension_transformed(model, v), checks.scale_bounded(model, v))
    assert next(x for x in verdicts if x.check == "log-det").passed


def integrate_2d(log_prob, lo: list[float], hi: list[float], steps: int) -> float:
    """Riemann sum of exp(log_prob) over the box [lo, hi] on a steps x steps grid."""
    gx, gy = (torch.linspace(a, b, steps, dtype=torch.float64) for a, b in zip(lo, hi, strict=True))
    points = torch.cartesian_prod(gx, gy)
    return (log_prob(points).exp().sum() * (gx[1] - gx[0]) * (gy[1] - gy[0])).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_density_of_2d_couplings_integrates_to_one(seed):
    torch.manual_seed(seed)
    flow = perturbed(
        Composite(
            [
                AffineCoupling(torch.tensor([True, False]), 16),
                AffineCoupling(torch.tensor([False, True]), 16),
                Scale(0.7),
                AffineCoupling(torch.tensor([True, False]), 16),
            ]
        ),
        scale=0.5,
        seed=seed,
    ).double()
    with torch.no_grad():  # the box: the range of 200000 samples of the flow, plus a margin
        x = flow.inverse(torch.randn(200000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))[0]
        lo, hi = (x.min(0).values - 1).tolist(), (x.max(0).values + 1).tolist()
        mass = integrate_2d(Flow(flow, StandardNormal(2)).log_prob, lo, hi, 1601)
    assert mass == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("lam", [0.05, 1e-6])
def test_density_over_pixels_integrates_to_one(lam):
    """1-D instance of the preprocessing. The logit's domain is y in (-c, 1 + c), c = lam / (1 - 2 lam),
    so the density of v integrates to 1 over 256 * (-c, 1 + c): a little mass lies outside [0, 256) and the
    likelihood of the pixel cube is a (slightly) conservative bound on the discrete code length."""
    flow = Composite([Scale(1 / 256), Logit(lam)]).double()
    model = Flow(flow, StandardNormal(1))
    c = lam / (1 - 2 * lam)

    def mass(lo: float, hi: float) -> float:
        v = torch.linspace(lo, hi, 400001, dtype=torch.float64)[1:-1, None]
        with torch.no_grad():
            density = model.log_prob(v).exp()
        return torch.trapezoid(density, v[:, 0]).item()

    assert mass(-256 * c, 256 * (1 + c)) == pytest.approx(1.0, abs=1e-4)
    inside = mass(0, 256)
    assert inside <= 1.0 + 1e-9 and (inside > 1 - 1e-4 if lam == 1e-6 else inside < 1 - 1e-3)


def test_real_nvp_is_the_transform_with_a_standard_normal_base():
    flow = small_flow()
    assert isinstance(flow.transform, RealNVP) and isinstance(flow.base, StandardNormal) and flow.base.dim == 784
    assert flow.transform.config == RealNVPConfig(n_couplings=4, hidden=32, n_hidden=1)
    assert len(flow.transform.couplings.transforms) == 4


def test_sampling_reproducible_and_temperature_zero_is_inverse_of_zero():
    model = small_flow()
    a = realnvp.sample(model, 5, 0.8, torch.Generator().manual_seed(1))
    assert a.dtype == torch.uint8 and a.shape == (5, 1, 28, 28)
    assert torch.equal(a, realnvp.sample(model, 5, 0.8, torch.Generator().manual_seed(1)))
    with torch.no_grad():  # x = f^-1(z), z drawn from the base at temperature T
        z = model.base.sample(5, 0.8, torch.Generator().manual_seed(1))
        assert torch.equal(a, realnvp.to_images(model.transform.inverse(z)[0]))
    cold = model.sample(4, 0.0).view(4, 1, 28, 28) / 256
    with torch.no_grad():
        mode = model.transform.inverse(torch.zeros(1, 784))[0].view(1, 1, 28, 28) / 256
    assert torch.allclose(cold, mode.expand_as(cold), atol=1e-6)
    assert torch.equal(realnvp.sample(model, 4, 0.0), realnvp.to_images(mode.expand(4, 1, 28, 28) * 256))


def test_log_prob_is_base_plus_log_det():
    model = small_flow()
    v = dequantize(torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8))
    with torch.no_grad():
        z, log_det = model.transform(v)
        expected = -0.5 * (z**2).sum(1) - 392 * math.log(2 * math.pi) + log_det
        assert torch.allclose(model.log_prob(v), expected)
        assert torch.allclose(model.base.log_prob(z), -0.5 * (z**2).sum(1) - 392 * math.log(2 * math.pi))


def test_default_realnvp_in_float64_samples_and_scores():
    """`real_nvp().double()`: the base draws its latent in float64 (the module's dtype), the transform maps it back
    in float64, and log_prob in float64 is the change of variables of the draw, to float64 precision."""
    model = perturbed(real_nvp(), scale=0.01).double()
    z = model.base.sample(3, 0.7, torch.Generator().manual_seed(4))
    assert z.dtype == torch.float64 and z.shape == (3, 784)
    v = model.sample(3, 0.7, torch.Generator().manual_seed(4))
    assert v.dtype == torch.float64 and v.shape == (3, 784)
    with torch.no_grad():
        v_expected, log_det_inverse = model.transform.inverse(z)
        assert torch.equal(v, v_expected)
        log_p = model.log_prob(v)
    assert log_p.dtype == torch.float64 and torch.isfinite(log_p).all()
    # log p(v) = log q(z) + log|det dz/dv| = log q(z) - log|det dv/dz|
    expected = -0.5 * (z**2).sum(1) - 392 * math.log(2 * math.pi) - log_det_inverse
    assert torch.allclose(log_p, expected, rtol=0, atol=1e-8 * 784)
    images = realnvp.sample(model, 3, 0.7, torch.Generator().manual_seed(4))
    assert images.dtype == torch.uint8 and torch.equal(images, realnvp.to_images(v))
    # the same weights in float32 agree to float32 precision
    v32 = dequantize(images, torch.Generator().manual_seed(5))
    with torch.no_grad():
        log_p64 = model.log_prob(v32.double())
        log_p32 = model.float().log_prob(v32)
    assert log_p64.dtype == torch.float64 and log_p32.dtype == torch.float32
    assert torch.allclose(log_p64.float(), log_p32, rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize(
    ("v", "match"),
    [
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "dequantize"),
        (torch.zeros(2, 28, 28), r"\(N, 1, 28, 28\) or \(N, 784\)"),
        (torch.full((2, 784), 300.0), r"\[0, 256\)"),
        (torch.full((2, 784), -1.0), r"\[0, 256\)"),
        (torch.full((2, 784), 256.0), r"\[0, 256\)"),  # hole 4: exactly 256 was accepted and gave NaN
        (torch.full((2, 784), float("nan")), "finite"),  # hole 4: NaN in, NaN out
        (torch.full((2, 784), float("inf")), "finite"),
    ],
)
def test_bad_input(v, match):
    with pytest.raises(ValueError, match=match):
        small_flow().log_prob(v)


def test_dequantized_pixels_stay_in_their_bins(monkeypatch):
    """255 + (1 - 2^-24) rounds to 256.0 in float32: outside the pixel's bin and outside the flow's domain."""
    x = torch.tensor([0, 128, 255], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 28, 28).contiguous()
    assert (x.float() + (1 - 2**-24)).max() == 256  # the rounding that dequantize guards against
    monkeypatch.setattr(torch, "rand", lambda shape, generator=None: torch.full(shape, 1 - 2**-24))
    v = dequantize(x)
    assert ((v >= x.float()) & (v < x.float() + 1)).all() and v.max() < 256


@pytest.mark.parametrize("temperature", [-1.0, float("inf"), float("nan")])
def test_temperature_must_be_finite_and_non_negative(temperature):
    """T = inf used to be accepted: z = inf * noise, and the flow's inverse returned NaN images."""
    with pytest.raises(ValueError, match="temperature must be finite and >= 0"):
        small_flow().sample(2, temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be finite and >= 0"):
        realnvp.sample(small_flow(), 2, temperature=temperature)


def test_forward_never_changes_parameters():
    model = real_nvp(RealNVPConfig(n_couplings=2, hidden=16, n_hidden=1)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.log_prob(torch.full((4, 784), 100.5))  # a constant batch, in train mode
    model.log_prob(torch.full((1, 784), 7.5))  # a single image
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_bad_parameters():
    with pytest.raises(ValueError, match="lam"):
        Logit(0.5)
    with pytest.raises(ValueError, match="positive"):
        Scale(0.0)
    with pytest.raises(ValueError, match="uint8"):
        dequantize(torch.zeros(2, 1, 28, 28))


def test_coupling_leaves_the_conditioning_half_alone_and_sees_only_it():
    mask = checkerboard()
    coupling = perturbed(AffineCoupling(mask, 32), 0.3)
    x = torch.randn(2, 784, requires_grad=True)
    z = coupling(x)[0]
    assert torch.equal(z[:, mask], x[:, mask])
    z[:, ~mask].sum().backward()  # the transformed half depends on the conditioning half and on itself, diagonally
    grad = x.grad
    assert (grad[:, mask] != 0).any() and (grad[:, ~mask] != 0).all()


def test_to_images_takes_each_value_to_the_bin_it_lies_in():
    """x = floor(v): every v in [k, k + 1) is pixel k (a rounding map would send 3.6 to 4), clamped into 0..255."""
    v = torch.tensor([[0.0, 0.4, 0.6, 3.6, 3.999, 254.5, 255.999, 300.0, -2.0] + [0.0] * 775])
    x = realnvp.to_images(v)
    assert x.dtype == torch.uint8 and x.shape == (1, 1, 28, 28)
    assert x.flatten()[:9].tolist() == [0, 0, 0, 3, 3, 254, 255, 255, 0]
