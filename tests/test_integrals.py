"""Every Gaussian average of every activation pair against Monte Carlo and quadrature.

States: K = 2 students and M = 2 teachers (units 0, 1 and 2, 3) with random
covariances of order-parameter size, one of them nearly degenerate (a
student unit within 1e-4 of a teacher unit, as after learning).  Monte Carlo
uses 2·10⁶ samples with a fixed seed; an estimate passes if it is within five
standard errors (a correct formula fails with probability below 1e-6 per check).
"""
import math

import numpy as np
import pytest

from committee import activations
from committee.integrals import gaussian_average
from montecarlo import ACTIVATIONS, gaussian_samples, mc_average, random_covariance

AVERAGES = {
    "gg": [(0, "value"), (2, "value")],
    "gg_same": [(1, "value"), (1, "value")],
    "gg_students": [(0, "value"), (1, "value")],
    "dxg": [(0, "deriv"), (3, "identity"), (2, "value")],
    "dxg_own": [(1, "deriv"), (1, "identity"), (0, "value")],
    "dxg_self": [(0, "deriv"), (2, "identity"), (0, "value")],
    "ddgg": [(0, "deriv"), (1, "deriv"), (2, "value"), (3, "value")],
    "ddgg_diag": [(0, "deriv"), (0, "deriv"), (2, "value"), (2, "value")],
    "ddgg_mixed": [(0, "deriv"), (1, "deriv"), (1, "value"), (3, "value")],
    "dd": [(0, "deriv"), (1, "deriv")],
}
PAIRS = [
    ("erf", "erf"), ("relu", "relu"), ("linear", "linear"), ("relu", "erf"),
    ("erf", "relu"), ("linear", "relu"), ("tanh", "tanh"), ("sigmoid", "sigmoid"),
    ("relu", "tanh"),
]
STATES = {"generic": 0.0, "degenerate": 1e-4}


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(2024)
    covs = {name: random_covariance(rng, 4, degenerate=d) for name, d in STATES.items()}
    return {name: (c, gaussian_samples(c, 2_000_000, seed=7)) for name, c in covs.items()}


@pytest.mark.parametrize("student,teacher", PAIRS)
@pytest.mark.parametrize("state", list(STATES))
def test_averages_against_monte_carlo(samples, student, teacher, state):
    cov, x = samples[state]
    for name, factors in AVERAGES.items():
        value = gaussian_average(cov, factors, 2, student, teacher)
        mean, se = mc_average(x, factors, 2, student, teacher)
        assert abs(value - mean) < 5 * se + 1e-12, (name, value, mean, se)


@pytest.mark.parametrize("student,teacher", [
    ("erf", "erf"), ("linear", "linear"), ("erf", "linear"), ("linear", "erf"),
])
def test_smooth_closed_forms_against_quadrature(samples, student, teacher):
    """Route 2 (orthant reduction) for smooth activations against quadrature at
    twice the default nodes (itself accurate to about 1e-8 for erf)."""
    for state in STATES:
        cov, _ = samples[state]
        for factors in AVERAGES.values():
            closed = gaussian_average(cov, factors, 2, student, teacher, route="closed")
            quadrature = gaussian_average(cov, factors, 2, student, teacher,
                                          route="quadrature", scale=2)
            assert abs(closed - quadrature) < 1e-7


def polar_average(cov2, functions, degree):
    """⟨F(u)⟩ for u ~ N(0, cov2) in two dimensions and F positively homogeneous
    of ``degree`` (ReLU, steps, identity): radial integral in closed form,
    angular integral by Gauss–Legendre between the kinks (exact there)."""
    L = np.linalg.cholesky(cov2)
    kinks = []
    for row in L:  # u_a = 0 on the ray through angle atan2(-row[0], row[1]) and its opposite
        angle = math.atan2(-row[0], row[1]) % (2 * math.pi)
        kinks += [angle, (angle + math.pi) % (2 * math.pi)]
    edges = np.unique(np.concatenate([[0.0, 2 * math.pi], kinks]))
    x, w = np.polynomial.legendre.leggauss(20)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        theta = 0.5 * (hi - lo) * (x + 1) + lo
        u = L @ np.vstack([np.cos(theta), np.sin(theta)])
        total += 0.5 * (hi - lo) * np.sum(w * functions(u))
    radial = 2 ** (degree / 2) * math.gamma(degree / 2 + 1)  # ∫ r^(d+1) e^(-r²/2) dr
    return total * radial / (2 * math.pi)


@pytest.mark.parametrize("student,teacher", [("relu", "relu"), ("linear", "relu")])
def test_relu_closed_forms_against_polar_integration(samples, student, teacher):
    """Averages over two distinct variables against an exact polar integration
    (Gauss–Hermite cannot check ReLU: its error through kinks is about 1e-2)."""
    for state in STATES:
        cov, _ = samples[state]
        for factors in AVERAGES.values():
            variables = sorted({u for u, _ in factors})
            if len(variables) > 2:
                continue
            if len(variables) == 1:  # a second, independent variable that no factor uses
                sub = np.diag([cov[variables[0], variables[0]], 1.0])
            else:
                sub = cov[np.ix_(variables, variables)]

            def product(u, factors=factors, variables=variables):
                out = np.ones(u.shape[1])
                for unit, kind in factors:
                    name = student if unit < 2 else teacher
                    x = u[variables.index(unit)]
                    g, dg = ACTIVATIONS[name]
                    out *= {"value": g, "deriv": dg, "identity": lambda v: v}[kind](x)
                return out

            degree = sum(1 for u, k in factors
                         if k == "identity" or (k == "value" and (student if u < 2 else teacher) != "erf"))
            exact = polar_average(sub, product, degree)
            assert abs(gaussian_average(cov, factors, 2, student, teacher) - exact) < 1e-13


def test_erf_classic_formulas_equal_orthant_reduction(samples):
    for state in STATES:
        cov, _ = samples[state]
        for factors in AVERAGES.values():
            classic = gaussian_average(cov, factors, 2, "erf", "erf")
            reduced = gaussian_average(cov, factors, 2, "erf", "erf", route="closed")
            assert abs(classic - reduced) < 1e-13


def test_textbook_values():
    """⟨relu(x)²⟩ = Q/2, ⟨relu(x) relu(y)⟩ at ρ = 0 is √(QT)/(2π), ⟨erf erf⟩ Sheppard."""
    cov = np.array([[0.7, 0.0], [0.0, 1.3]])
    assert abs(gaussian_average(cov, [(0, "value"), (0, "value")], 1, "relu") - 0.35) < 1e-15
    expected = math.sqrt(0.7 * 1.3) / (2 * math.pi)
    assert abs(gaussian_average(cov, [(0, "value"), (1, "value")], 1, "relu") - expected) < 1e-15
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    expected = 2 / math.pi * math.asin(0.25)
    assert abs(gaussian_average(cov, [(0, "value"), (1, "value")], 1, "erf") - expected) < 1e-15


@pytest.mark.parametrize("student,teacher", [("relu", "relu"), ("relu", "erf"), ("erf", "relu")])
def test_closed_forms_continuous_towards_exact_coincidence(student, teacher):
    """As a student unit approaches a teacher unit (distance ε) the averages
    converge: once the true change (about ε) is negligible, successive values
    differ by round-off only, which the Stein reduction amplifies to at most
    about 1e-8 (integrals docstring)."""
    rng = np.random.default_rng(5)
    w = rng.normal(size=(3, 6)) / math.sqrt(6)
    e = rng.normal(size=6) / math.sqrt(6)
    values = []
    for eps in [1e-9, 1e-10, 1e-12, 1e-14]:
        v = np.vstack([w[0], w[2] + eps * e, w[2], w[1]])
        cov = v @ v.T
        values.append([gaussian_average(cov, f, 2, student, teacher) for f in AVERAGES.values()])
    values = np.array(values)
    assert np.all(np.isfinite(values))
    assert np.max(np.abs(np.diff(values, axis=0))) < 2e-8


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_scale_mixtures_against_accurate_quadrature(name):
    """tanh and sigmoid by Kolmogorov scale mixtures of erf (route 1 and route 2)
    against Gauss–Hermite with four times the default nodes on averages over
    one or two distinct variables (quadrature error below 1e-12 there), with
    up to four mixture factors: the accuracy stated at MIXTURE_NODES."""
    rng = np.random.default_rng(9)
    cov = random_covariance(rng, 4)
    few_variables = [
        [(0, "value"), (2, "value")],
        [(1, "deriv"), (1, "identity"), (1, "value")],
        [(0, "deriv"), (0, "deriv"), (0, "value"), (0, "value")],
        [(0, "deriv"), (2, "deriv"), (0, "value"), (2, "value")],
        [(1, "deriv"), (1, "deriv")],
    ]
    for factors in few_variables:
        reference = gaussian_average(cov, factors, 2, name, name, route="quadrature", scale=4)
        mixtures = sum(1 for _, kind in factors if kind != "identity")
        tolerance = 5e-9 if mixtures == 4 else 1e-11
        assert abs(gaussian_average(cov, factors, 2, name, name) - reference) < tolerance
        assert abs(gaussian_average(cov, factors, 2, name, name, route="closed") - reference) < tolerance


def test_gauss_hermite_accuracy_for_smooth_activations():
    """Route 3 (used for user activations) at the default nodes, for tanh
    against the accurate scale-mixture route, at states with order parameters
    up to about 1 (T = I): the accuracy stated in the integrals docstring."""
    rng = np.random.default_rng(9)
    tolerance = {1: 1e-5, 2: 3e-4, 3: 1e-3, 4: 5e-3}
    for _ in range(4):
        v = rng.normal(size=(4, 8)) / math.sqrt(8)
        v[2:] /= np.linalg.norm(v[2:], axis=1, keepdims=True)  # teacher T_nn = 1
        cov = v @ v.T
        for factors in AVERAGES.values():
            quadrature = gaussian_average(cov, factors, 2, "tanh", "tanh", route="quadrature")
            accurate = gaussian_average(cov, factors, 2, "tanh", "tanh")
            size = len({u for u, k in factors if k != "identity"})
            assert abs(quadrature - accurate) < tolerance[size]


def test_user_registered_activation():
    name = "softplus_test"

    def softplus(x):
        return math.log1p(math.exp(-abs(x))) + max(x, 0.0)

    def softplus_prime(x):
        return 1.0 / (1.0 + math.exp(-x))

    activations.register(name, softplus, softplus_prime, formula="log(1+e^x)")
    with pytest.raises(ValueError, match="already registered"):
        activations.register(name, softplus, softplus_prime)
    table = dict(ACTIVATIONS)
    table[name] = (lambda x: np.logaddexp(0.0, x), lambda x: 1 / (1 + np.exp(-x)))
    rng = np.random.default_rng(3)
    cov = random_covariance(rng, 4)
    x = gaussian_samples(cov, 2_000_000, seed=3)
    for factors in AVERAGES.values():
        value = gaussian_average(cov, factors, 2, name, "erf")
        mean, se = mc_average(x, factors, 2, name, "erf", activations=table)
        assert abs(value - mean) < 5 * se


def test_unknown_activation_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered: .*erf.*relu"):
        activations.get("softsign")
