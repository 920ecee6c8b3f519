"""Orthant probabilities and moments against independent high-accuracy references.

References:
* one-factor correlations ``ρ_jl = λ_j λ_l``: ``P4 = ∫ φ(z) Π_j Φ(λ_j z / √(1−λ_j²)) dz``
  (conditioning on the common factor), a different formula from the
  package's, evaluated with mpmath at 30 digits; λ close to 1 gives nearly
  singular matrices;
* general correlations: Plackett's identity integrated by mpmath's adaptive
  quadrature at 30 digits from a *different starting point* (the block matrix
  that keeps only ρ12 and ρ34, where P4 = P2(ρ12) P2(ρ34)), so the path and
  the integrand differ from the package's;
* exact values: P4 = 1/5 for equicorrelation 1/2, 1/16 for independence, the
  sixteen sign patterns summing to 1, and P4 reducing to P3 when a
  coordinate is duplicated;
* Monte Carlo for the moments.
"""
import itertools

import mpmath as mp
import numpy as np
import pytest

from committee.orthant import (
    orthant4,
    orthant_first_moment,
    orthant_probability,
    orthant_second_moment,
)
from montecarlo import gaussian_samples

mp.mp.dps = 30


def one_factor_p4(lam):
    lam = [mp.mpf(x) for x in lam]

    def integrand(z):
        return mp.npdf(z) * mp.fprod(mp.ncdf(l * z / mp.sqrt(1 - l * l)) for l in lam)

    return float(mp.quad(integrand, [-mp.inf, -6, -2, 0, 2, 6, mp.inf]))


def p2(r):
    return mp.mpf(1) / 4 + mp.asin(r) / (2 * mp.pi)


def block_path_p4(r):
    """Plackett along r(t) = B + t (r − B), B keeping only ρ12 and ρ34."""
    r = [[mp.mpf(float(x)) for x in row] for row in r]
    base = [[r[i][j] if (i, j) in {(0, 1), (1, 0), (2, 3), (3, 2)} or i == j else mp.mpf(0)
             for j in range(4)] for i in range(4)]

    def derivative(t):
        m = [[base[i][j] + t * (r[i][j] - base[i][j]) for j in range(4)] for i in range(4)]
        total = mp.mpf(0)
        for j, l in [(0, 2), (0, 3), (1, 2), (1, 3)]:
            a, b = [k for k in range(4) if k not in (j, l)]
            rho = m[j][l]
            inv = mp.matrix([[1, -rho], [-rho, 1]]) / (1 - rho * rho)
            va = mp.matrix([m[a][j], m[a][l]])
            vb = mp.matrix([m[b][j], m[b][l]])
            caa = 1 - (va.T * inv * va)[0]
            cbb = 1 - (vb.T * inv * vb)[0]
            cab = m[a][b] - (va.T * inv * vb)[0]
            density = 1 / (2 * mp.pi * mp.sqrt(1 - rho * rho))
            total += (r[j][l] - base[j][l]) * density * p2(cab / mp.sqrt(caa * cbb))
        return total

    return float(p2(r[0][1]) * p2(r[2][3]) + mp.quad(derivative, [0, 1]))


def correlation_from(vectors):
    c = vectors @ vectors.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


@pytest.mark.parametrize("lam", [
    [0.5, 0.5, 0.5, 0.5],
    [0.9, 0.8, -0.7, 0.6],
    [0.3, -0.2, 0.1, 0.05],
    [0.999999, 0.99999, 0.5, -0.3],
    [1 - 1e-8, 1 - 1e-8, 0.3, 0.4],
    [1 - 1e-12, 0.9, -0.9, 0.2],
])
def test_p4_one_factor_reference(lam):
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1.0)
    assert abs(orthant4(r) - one_factor_p4(lam)) < 1e-10


def test_p4_general_matrices_against_block_path():
    rng = np.random.default_rng(11)
    for _ in range(6):
        r = correlation_from(rng.normal(size=(4, 6)))
        assert abs(orthant4(r) - block_path_p4(r)) < 1e-10


def test_p4_exact_values_and_identities():
    r = np.full((4, 4), 0.5)
    np.fill_diagonal(r, 1.0)
    assert abs(orthant4(r) - 0.2) < 1e-13
    assert abs(orthant4(np.eye(4)) - 1 / 16) < 1e-15
    rng = np.random.default_rng(12)
    r = correlation_from(rng.normal(size=(4, 5)))
    total = 0.0
    for signs in itertools.product([1.0, -1.0], repeat=4):
        d = np.diag(signs)
        total += orthant4(d @ r @ d)
    assert abs(total - 1.0) < 1e-12


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-9])
def test_p4_with_near_duplicate_reduces_to_p3(eps):
    rng = np.random.default_rng(13)
    v = rng.normal(size=(3, 5))
    v4 = np.vstack([v, v[2] + eps * rng.normal(size=5)])
    c = v4 @ v4.T
    p3 = orthant_probability(c, np.arange(3), 3)
    # moving u4 off u3 by eps changes P4 by O(eps)
    assert abs(orthant_probability(c, np.arange(4), 4) - p3) < 10 * eps


def test_low_dimensional_probabilities_against_monte_carlo():
    rng = np.random.default_rng(14)
    c = correlation_from(rng.normal(size=(4, 6))) * 2.0
    x = gaussian_samples(c, 2_000_000, seed=1)
    for k in (1, 2, 3, 4):
        idx = np.arange(k)
        hits = np.all(x[:, :k] > 0, axis=1)
        p, se = hits.mean(), hits.std() / np.sqrt(hits.size)
        assert abs(orthant_probability(c, idx, k) - p) < 5 * se


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_moments_against_monte_carlo(k):
    rng = np.random.default_rng(20 + k)
    c = rng.normal(size=(6, 8))
    c = c @ c.T / 8
    x = gaussian_samples(c, 2_000_000, seed=k)
    idx = np.array([0, 2, 3, 5][:k])
    inside = np.all(x[:, idx] > 0, axis=1)
    for p in range(6):  # p inside and outside the set
        values = x[:, p] * inside
        assert abs(orthant_first_moment(c, idx, k, p) - values.mean()) < 5 * values.std() / 1414
        for q in (1, 2, 5):
            values = x[:, p] * x[:, q] * inside
            estimate = orthant_second_moment(c, idx, k, p, q)
            assert abs(estimate - values.mean()) < 5 * values.std() / 1414
