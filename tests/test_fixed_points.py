"""The symmetric plateau fixed point and its spectrum."""
import math

import numpy as np
import pytest

from committee.fixed_points import plateau_fixed_point, spectrum
from committee.ode import Model, solve


@pytest.mark.parametrize("K", [2, 3])
def test_saad_solla_small_eta_fixed_point_for_erf(K):
    """R = S = 1/√(K(2K−1)), Q = C = 1/(2K−1), ε_g = (K/π)(π/6 − K asin(1/(2K))).

    All student vectors coincide there (Q = C), on the boundary of the
    positive-semidefinite cone, where the flow approaches the point only
    quadratically; the root is therefore located to about 1e-8 (ε_g, which is
    stationary, to round-off)."""
    point = plateau_fixed_point(Model(K=K, M=K, eta=0.1, eta2=False))
    assert point.convention == "small_eta"
    assert point.R == point.S
    assert abs(point.R - 1 / math.sqrt(K * (2 * K - 1))) < 1e-7
    assert abs(point.Q - 1 / (2 * K - 1)) < 1e-7
    assert abs(point.C - 1 / (2 * K - 1)) < 1e-7
    expected = K / math.pi * (math.pi / 6 - K * math.asin(1 / (2 * K)))
    assert abs(point.eps_g - expected) < 1e-12


def test_relu_escape_direction_of_straat_biehl():
    """K = M = 2, ReLU: an eigenvalue ≈ 0.24 with eigenvector ∝ (½, −½, −½, ½, 0, 0, 0),
    in the small-η convention (time ηα)."""
    model = Model(K=2, M=2, eta=0.1, student="relu", eta2=False)
    point = plateau_fixed_point(model)
    values, vectors = spectrum(model, point.state)
    assert abs(values[0].imag) < 1e-12
    assert 0.235 < values[0].real < 0.245
    assert np.allclose(vectors[:, 0].real, [0.5, -0.5, -0.5, 0.5, 0, 0, 0], atol=1e-6)
    assert np.all(values[1:].real < 0.01)  # the only clearly unstable direction


def test_full_convention_spectrum_approaches_small_eta_one():
    """Eigenvalues of the full equations, divided by η, tend to the small-η ones."""
    small = plateau_fixed_point(Model(K=2, M=2, eta=0.1, student="relu", eta2=False))
    top_small = spectrum(Model(K=2, M=2, eta=0.1, student="relu", eta2=False), small.state)[0][0]
    gaps = []
    for eta in (0.02, 0.01):
        model = Model(K=2, M=2, eta=eta, student="relu")
        point = plateau_fixed_point(model)
        assert point.convention == "full"
        gaps.append(abs(spectrum(model, point.state)[0][0].real / eta - top_small.real))
    assert gaps[1] < 0.6 * gaps[0] and gaps[1] < 0.01


def test_fixed_point_is_where_the_plateau_sits():
    """The ODE from R(0) = 1e-3·I, Q(0) = 0.2·I (erf, η = 0.1) passes by the
    fixed point: at mid-plateau ε_g and R are close to it."""
    model = Model(K=2, M=2, eta=0.1)
    point = plateau_fixed_point(model)
    run = solve(model, 1e-3, 0.2, [0.0, 300.0])
    assert abs(run.eps_g[-1] - point.eps_g) < 1e-3
    assert abs(run.R[-1].mean() - point.R) < 1e-2


def test_symmetric_analysis_requires_k_equals_m():
    with pytest.raises(ValueError, match="K = M"):
        plateau_fixed_point(Model(K=3, M=2, eta=0.1))
