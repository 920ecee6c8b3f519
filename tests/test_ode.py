r"""The order-parameter ODEs against exact solutions and known asymptotics."""
import math

import numpy as np
import pytest

from committee.fixed_points import jacobian
from committee.ode import Model, solve
from committee.state import pack


def linear_exact(K, M, T, R0, Q0, eta, noise, alpha):
    r"""Exact solution for linear units (derivation).

    With ``g(x) = x`` every student receives the same update: with the error
    vector ``W = Σ_i J_i − Σ_n B_n``, ``δ_i = −W·ξ + ζ`` and
    ``J_i ← J_i − (η/N)(W·ξ − ζ) ξ``.  Averaging over ξ and ζ, for ``N → ∞``:

    * ``a_n = W·B_n``:             ``da/dα = −Kη a``
    * ``β_i = J_i(0)·W``:          ``dβ/dα = −Kη β``
    * ``γ = W(0)·W``:              ``dγ/dα = −Kη γ``
    * ``w² = |W|² = 2ε_g``:        ``dw²/dα = −(2Kη − K²η²) w² + K²η² noise``

    and with the common displacement ``U = (W − W(0))/K`` of all students,
    ``R_in = R_in(0) + U·B_n``, ``Q_ik = Q_ik(0) + J_i(0)·U + J_k(0)·U + |U|²``.
    """
    decay = math.exp(-K * eta * alpha)
    a0 = R0.sum(axis=0) - T.sum(axis=0)
    beta0 = Q0.sum(axis=0) - R0.sum(axis=1)
    w0 = Q0.sum() - 2 * R0.sum() + T.sum()
    rate = 2 * K * eta - K * K * eta * eta
    w_inf = K * K * eta * eta * noise / rate
    w2 = (w0 - w_inf) * math.exp(-rate * alpha) + w_inf
    R = R0 + (a0 * (decay - 1) / K)[None, :]
    JU = beta0 * (decay - 1) / K
    UU = (w2 - 2 * w0 * decay + w0) / (K * K)
    Q = Q0 + JU[:, None] + JU[None, :] + UU
    return R, Q, 0.5 * w2


def test_linear_activation_against_exact_solution():
    K, M, eta, noise = 2, 3, 0.3, 0.1
    rng = np.random.default_rng(1)
    B = rng.normal(size=(M, 6)) / math.sqrt(6)
    J = rng.normal(size=(K, 6)) / math.sqrt(6)
    T, R0, Q0 = B @ B.T, J @ B.T, J @ J.T
    model = Model(K=K, M=M, eta=eta, student="linear", T=T, noise=noise)
    alphas = np.array([0.0, 0.5, 2.0, 5.0, 20.0])
    run = solve(model, R0, Q0, alphas)
    assert run.status == "ok"
    for n, alpha in enumerate(alphas):
        R, Q, eps = linear_exact(K, M, T, R0, Q0, eta, noise, alpha)
        assert np.allclose(run.R[n], R, rtol=0, atol=1e-9)
        assert np.allclose(run.Q[n], Q, rtol=0, atol=1e-9)
        assert abs(run.eps_g[n] - eps) < 1e-9


def test_weight_decay_shrinks_the_linear_perceptron():
    """K = M = 1, linear: dR/dα = −η(R − T) − ηγR, so R → T/(1 + γ)."""
    model = Model(K=1, M=1, eta=0.5, student="linear", weight_decay=0.25)
    run = solve(model, 0.0, 0.5, [0.0, 200.0])
    assert abs(run.R[-1, 0, 0] - 1 / 1.25) < 1e-9


ETA_CRITICAL_ERF = math.pi * math.sqrt(5 / 3)


def erf_perceptron_eigenvalues(eta):
    r"""Linearisation of the erf perceptron (K = M = 1, T = 1) at R = Q = 1.

    Write ``x = y + e``, ``Cov(y, e) = r = R − 1``, ``Var e = s = Q − 2R + 1``
    (both first order in the distance to the solution).  Expanding
    ``δ = (g(y) − g(y + e)) g'(y + e) = −g'(y)² e − (3/2) g'(y) g''(y) e² + …``
    and averaging with ``⟨e F(y)⟩ = r⟨y F⟩`` and ``⟨e² F(y)⟩ = s⟨F⟩ + O(r²)``:

        dr/dα = −η a r − (3/2) η b s,      ds/dα = dQ − 2 dR = −η (2c − η d) s,

    with ``a = ⟨g'² y²⟩ = 2/(3√3 π)``, ``c = ⟨g'²⟩ = 2/(√3 π)``,
    ``d = ⟨g'⁴⟩ = 4/(√5 π²)``.  The system is triangular: eigenvalues ``−ηa`` and
    ``−η(2c − ηd)``; the second changes sign at ``η = 2c/d = π√(5/3)``.
    """
    a = 2 / (3 * math.sqrt(3) * math.pi)
    c = 2 / (math.sqrt(3) * math.pi)
    d = 4 / (math.sqrt(5) * math.pi**2)
    return sorted([-eta * a, -eta * (2 * c - eta * d)])


@pytest.mark.parametrize("eta", [0.5, 2.0, 0.99 * ETA_CRITICAL_ERF, 1.01 * ETA_CRITICAL_ERF])
def test_erf_perceptron_linearisation(eta):
    model = Model(K=1, M=1, eta=eta, student="erf")
    eigenvalues = np.sort(np.linalg.eigvals(jacobian(model, np.array([1.0, 1.0]))).real)
    assert np.allclose(eigenvalues, erf_perceptron_eigenvalues(eta), rtol=1e-8, atol=1e-11)


def test_erf_perceptron_converges_below_critical_rate_only():
    alphas = np.linspace(0, 300, 31)
    below = solve(Model(K=1, M=1, eta=0.95 * ETA_CRITICAL_ERF), 0.9, 0.9, alphas)
    above = solve(Model(K=1, M=1, eta=1.05 * ETA_CRITICAL_ERF), 0.9, 0.9, alphas)
    assert below.eps_g[-1] < 1e-9
    assert above.eps_g[-1] > 1e-3


@pytest.mark.parametrize("eta", [0.5, 1.0, 1.5])
def test_relu_perceptron_asymptotic_decay_rate(eta):
    r"""ReLU perceptron near R = Q = T = 1.

    Write ``x = R y + Δ z`` with ``Δ² = Q − R²`` and ``z`` independent of
    ``y``.  Away from the wedge where ``x`` and ``y`` differ in sign (of angle
    O(Δ), contributing O(Δ³)), ``relu(y) − relu(x) = −Θ(y)((R − 1) y + Δ z)``,
    so with ``r = R − 1``:

        ⟨δ y⟩ = −r/2,   ⟨δ x⟩ = −(R r + Δ²)/2,   ⟨δ²⟩ = (r² + Δ²)/2,
        dr/dα = −η r/2,   dΔ²/dα = −η(1 − η/2) Δ² + η² r²/2,

    and ``ε_g = (r² + Δ²)/4``: ε_g decays at the rate ``η(1 − η/2)`` (the r²
    part decays at rate η, faster), and stops converging at η = 2.
    """
    model = Model(K=1, M=1, eta=eta, student="relu")
    alphas = np.linspace(0, 40 / (eta * (1 - eta / 2)), 201)
    run = solve(model, 0.0, 0.25, alphas, rtol=1e-12, atol=1e-14)
    window = (run.eps_g < 1e-5) & (run.eps_g > 1e-9)
    assert window.sum() > 10
    slope = np.polyfit(run.alpha[window], np.log(run.eps_g[window]), 1)[0]
    assert abs(-slope - eta * (1 - eta / 2)) < 0.01 * eta * (1 - eta / 2)


def test_relu_perceptron_does_not_converge_beyond_eta_two():
    run = solve(Model(K=1, M=1, eta=2.5, student="relu"), 0.0, 0.25, np.linspace(0, 500, 11))
    assert run.status == "diverged" or run.eps_g[-1] > 1e-2


@pytest.mark.parametrize("activation,eta", [("erf", 100.0), ("relu", 20.0)])
def test_large_learning_rate_is_recorded_as_diverged(activation, eta):
    """ReLU norms explode; erf norms grow like a power of α (saturated units),
    crossing the bound Q_ii > 1e4 at α ≈ 170 for η = 100."""
    alphas = np.linspace(0, 1000, 101)
    run = solve(Model(K=2, M=2, eta=eta, student=activation), 1e-3, 0.2, alphas)
    assert run.status == "diverged"
    assert 0 < run.alpha_reached < 1000
    assert run.alpha.size < alphas.size
    assert np.all(run.alpha <= run.alpha_reached)
    assert np.all(np.isfinite(run.R)) and np.all(np.isfinite(run.Q))
    assert np.all(np.isfinite(run.eps_g)) and np.all(run.eps_g >= 0)


def test_recording_at_requested_alphas_and_eps_g_never_negative():
    alphas = np.array([0.0, 0.3, 1.7, 10.0, 55.5, 300.0, 2000.0])
    run = solve(Model(K=2, M=2, eta=0.5, student="relu"), 1e-3, 0.2, alphas)
    assert np.array_equal(run.alpha, alphas)
    assert np.all(run.eps_g >= 0)
    assert run.eps_g_at_floor[-1]  # converged: only the round-off floor is left
    assert run.eps_g[0] == pytest.approx(Model(K=2, M=2, eta=0.5, student="relu")
                                         .generalisation_error(pack(1e-3 * np.eye(2), 0.2 * np.eye(2)))[0])


def test_small_eta_convention_is_the_limit_of_the_full_equations():
    """At fixed ηα the full equations approach the small-η ones as η → 0 (O(η))."""
    small = Model(K=2, M=2, eta=0.1, eta2=False)
    reference = solve(small, 1e-2, 0.2, [0.0, 200.0])  # ηα = 20
    differences = []
    for eta in (0.02, 0.01):
        run = solve(Model(K=2, M=2, eta=eta), 1e-2, 0.2, [0.0, 20.0 / eta])
        differences.append(np.max(np.abs(run.Q[-1] - reference.Q[-1])))
    assert differences[1] < 0.6 * differences[0]
    assert differences[1] < 1e-2


def test_noise_raises_the_asymptotic_error():
    """Linear perceptron with output noise: ε_g → Kη noise/(2(2 − Kη))."""
    eta, noise = 0.5, 0.2
    run = solve(Model(K=1, M=1, eta=eta, student="linear", noise=noise), 0.0, 0.5, [0.0, 300.0])
    assert abs(run.eps_g[-1] - 0.5 * eta * noise / (2 - eta)) < 1e-9


@pytest.mark.parametrize("student,teacher", [("relu", "erf"), ("tanh", "tanh"), ("sigmoid", "relu")])
def test_other_activations_learn(student, teacher):
    """Smoke test of every route: ε_g decreases over a short run."""
    run = solve(Model(K=2, M=1, eta=0.5, student=student, teacher=teacher),
                [[0.1], [0.0]], 0.5, [0.0, 2.0, 5.0])
    assert run.status == "ok"
    assert run.eps_g[-1] < run.eps_g[0]
