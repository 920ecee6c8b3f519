r"""tanh and the logistic sigmoid as Gaussian scale mixtures of erf.

The logistic distribution is a scale mixture of normals (Andrews & Mallows
1974): if ``Z ~ N(0, 1)`` and ``V`` follows the Kolmogorov distribution,
``2 V Z`` is logistic.  Hence, with ``erf_s(x) = erf(x / (√2 s))``,

.. math::

    \tanh x = E_V[\operatorname{erf}_V(x)], \qquad
    \sigma(x) = \tfrac12 + \tfrac12 E_V[\operatorname{erf}_{2V}(x)],

and the derivatives are the same mixtures of
:math:`\operatorname{erf}_s'(x) = \sqrt{2/\pi}\, s^{-1} e^{-x^2 / 2 s^2}`.
A Gaussian average of tanh or sigmoid units is therefore an average, over
independent scales (one per factor), of erf averages that have closed forms.
The integrand is smooth in the scales and the Kolmogorov density vanishes
faster than any power at both ends, so a Gauss rule for that density
converges spectrally (``committee.integrals.MIXTURE_NODES`` gives the
nodes used and the accuracy reached).

Kolmogorov density (two series, each used where it converges fast):

.. math::

    f(v) = 8 v \sum_{k \ge 1} (-1)^{k+1} k^2 e^{-2 k^2 v^2}  \quad (v \ge 1), \qquad
    f(v) = \frac{\sqrt{2\pi}}{v^2} \sum_{k \ge 1} \Big(\frac{a_k}{v^2}\cdot 2 - 1\Big) e^{-a_k / v^2},
    \ a_k = \frac{(2k-1)^2 \pi^2}{8} \quad (v < 1).

The Gauss rule is built from a fine discretisation of ``f`` by the Stieltjes
procedure and the Golub–Welsch eigenvalue method (double precision, once at
import).
"""
import functools
import math

import numpy as np
import scipy.special


def kolmogorov_density(v):
    """Density of the Kolmogorov distribution (limit of √n · KS statistic)."""
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros_like(v)
    small = (v > 0) & (v < 1)
    large = v >= 1
    vs = v[small]
    total = np.zeros_like(vs)
    for k in range(1, 8):
        a = (2 * k - 1) ** 2 * math.pi**2 / 8
        total += (2 * a / vs**2 - 1) * np.exp(-a / vs**2)
    out[small] = math.sqrt(2 * math.pi) / vs**2 * total
    vl = v[large]
    total = np.zeros_like(vl)
    for k in range(1, 12):
        total += (-1) ** (k + 1) * k * k * np.exp(-2 * k * k * vl * vl)
    out[large] = 8 * vl * total
    return out


@functools.cache
def _discretised_density(points=4000, upper=7.0):
    """Gauss–Legendre nodes on [0, upper] weighted by the density (normalised)."""
    x, w = scipy.special.roots_legendre(points)
    v = 0.5 * upper * (x + 1.0)
    w = 0.5 * upper * w * kolmogorov_density(v)
    return v, w / w.sum()


def kolmogorov_rule(n):
    """Nodes and weights (summing to 1) of the n-point Gauss rule for the Kolmogorov density."""
    v, w = _discretised_density()
    # Stieltjes procedure: recurrence coefficients of the orthonormal polynomials
    alpha = np.empty(n)
    beta = np.empty(n)
    previous = np.zeros_like(v)
    current = np.ones_like(v)
    previous_norm, norm = 1.0, 1.0
    for j in range(n):
        alpha[j] = np.sum(w * v * current**2) / norm
        beta[j] = norm if j == 0 else norm / previous_norm
        following = (v - alpha[j]) * current - (beta[j] if j > 0 else 0.0) * previous
        previous, current = current, following
        previous_norm, norm = norm, np.sum(w * following**2)
    jacobi = np.diag(alpha) + np.diag(np.sqrt(beta[1:]), 1) + np.diag(np.sqrt(beta[1:]), -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    return nodes, vectors[0] ** 2


def kolmogorov_tables(max_nodes):
    """``(nodes, weights)`` with row ``n`` holding the n-point rule (zero padded)."""
    nodes = np.zeros((max_nodes + 1, max_nodes))
    weights = np.zeros((max_nodes + 1, max_nodes))
    for n in range(1, max_nodes + 1):
        nodes[n, :n], weights[n, :n] = kolmogorov_rule(n)
    return nodes, weights
