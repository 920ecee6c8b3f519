r"""Orthant probabilities and truncated moments of a centred Gaussian vector.

Notation: :math:`u \sim N(0, C)`, :math:`S` a set of at most four coordinates of
``u`` and :math:`1_S = \prod_{j \in S} \Theta(u_j)`.  This module computes

.. math::

    P(S) = E[1_S], \qquad m_1(S; p) = E[u_p 1_S], \qquad
    m_2(S; p, q) = E[u_p u_q 1_S],

where ``p`` and ``q`` may lie inside or outside ``S``.  These are all the
ReLU averages of the order-parameter equations need (``relu(u) = u Θ(u)``,
``relu'(u) = Θ(u)``), and, after the augmentation in :mod:`committee.integrals`,
all averages that mix ReLU, erf and linear units.

Moments by Gaussian integration by parts
----------------------------------------
Stein's lemma :math:`E[u_p f(u)] = \sum_j C_{pj} E[\partial_j f(u)]` with
:math:`\partial_j 1_S = \delta(u_j) 1_{S \setminus j}` gives

.. math::

    m_1(S; p) &= \sum_{j \in S} C_{pj}\, \varphi_j\, P(S \setminus j \mid u_j = 0), \\
    m_2(S; p, q) &= C_{pq} P(S) + \sum_{j \in S} \sum_{l \in S \setminus j}
        C_{pj}\, C^{(j)}_{ql}\, \varphi_{jl}\, P(S \setminus \{j, l\} \mid u_j = u_l = 0),

with :math:`\varphi_j = (2\pi C_{jj})^{-1/2}` the density of :math:`u_j` at 0,
:math:`C^{(j)} = C - C_{\cdot j} C_{j \cdot} / C_{jj}` the covariance given
:math:`u_j = 0`, and :math:`\varphi_{jl} = \big(2\pi \sqrt{C_{jj}C_{ll} - C_{jl}^2}\big)^{-1}`
the joint density of :math:`(u_j, u_l)` at the origin.  The conditional
probabilities have dimension at most three, so only :math:`P(S)` itself can be
four-dimensional.

Orthant probabilities
---------------------
Up to three dimensions they are elementary (Sheppard's formula and its
three-dimensional analogue), in terms of correlations :math:`\rho`:

.. math::

    P_1 = \tfrac12, \quad
    P_2 = \tfrac14 + \frac{\arcsin \rho_{12}}{2\pi}, \quad
    P_3 = \tfrac18 + \frac{\arcsin \rho_{12} + \arcsin \rho_{13} + \arcsin \rho_{23}}{4\pi}.

The four-dimensional probability has no elementary form.  Plackett's identity
:math:`\partial P / \partial \rho_{jl} = \varphi(0, 0; \rho_{jl})\,
P(\text{rest} \mid u_j = u_l = 0)` integrated along :math:`\rho(t) = t\rho`
from the independent case (:math:`P = 1/16` at :math:`t = 0`), with the
substitution :math:`\sin\theta = t \rho_{jl}` in the term of each pair, gives

.. math::

    P_4 = \frac{1}{16} + \sum_{j<l} \frac{\arcsin \rho_{jl}}{8\pi}
        + \frac{1}{4\pi^2} \sum_{j<l} \int_0^{\arcsin \rho_{jl}}
          \arcsin \rho^{(jl)}_{mn}\!\big(t = \sin\theta / \rho_{jl}\big)\, d\theta,

where :math:`\{m, n\}` is the complementary pair and
:math:`\rho^{(jl)}_{mn}(t)` its correlation given :math:`u_j = u_l = 0` under
the correlation matrix :math:`(1-t) I + t\rho`.  The integrand is bounded by
:math:`\pi/2`, smooth inside the interval, and can vary quickly only at the
upper end when :math:`\rho` is nearly singular; tanh-sinh quadrature, which
clusters its nodes doubly exponentially at the ends, integrates it to about
1e-13 absolute for all correlation matrices (see ``tests/test_orthant.py``).

Degenerate covariances
----------------------
Learning drives student units towards teacher units, so nearly collinear
coordinates are the normal case.  Correlations are clipped to [-1, 1] and
non-positive conditional variances are treated as zero variance; exactly
duplicated coordinates must be merged by the caller (``Θ(u)Θ(u) = Θ(u)``).
"""
import math

import numpy as np
from numba import njit

TWO_PI = 2.0 * math.pi

#: Tanh-sinh rule on [0, 1]: nodes ``s_k`` and weights ``w_k``.
_TS_STEP = 1.0 / 10.0
_TS_LEVELS = 34


def _tanh_sinh_rule(step, levels):
    tau = step * np.arange(-levels, levels + 1)
    arg = 0.5 * math.pi * np.sinh(tau)
    nodes = 1.0 / (1.0 + np.exp(-2.0 * arg))  # (1 + tanh(arg)) / 2
    weights = step * 0.25 * math.pi * np.cosh(tau) / np.cosh(arg) ** 2
    return nodes, weights


_TS_NODES, _TS_WEIGHTS = _tanh_sinh_rule(_TS_STEP, _TS_LEVELS)


@njit(cache=True)
def correlation(c, a, b):
    """Correlation of coordinates ``a`` and ``b`` of covariance ``c``, clipped to [-1, 1]."""
    denominator = c[a, a] * c[b, b]
    if denominator <= 0.0:
        return 0.0
    r = c[a, b] / math.sqrt(denominator)
    return min(1.0, max(-1.0, r))


@njit(cache=True)
def condition_on_zero(c, j):
    """Covariance of ``u`` given ``u_j = 0``: ``C - C[:, j] C[j, :] / C[j, j]``."""
    n = c.shape[0]
    out = c.copy()
    cjj = c[j, j]
    if cjj <= 0.0:
        return out
    for a in range(n):
        for b in range(n):
            out[a, b] = c[a, b] - c[a, j] * c[j, b] / cjj
        out[a, j] = 0.0
        out[j, a] = 0.0
    return out


@njit(cache=True)
def _conditional_asin(r, t, j, l, m, n, sin_theta, cos2_theta):
    """asin of the correlation of (m, n) given u_j = u_l = 0, for correlations t*r."""
    rmj = t * r[m, j]
    rml = t * r[m, l]
    rnj = t * r[n, j]
    rnl = t * r[n, l]
    a = sin_theta  # t * r[j, l]
    inv = 1.0 / cos2_theta
    cmn = t * r[m, n] - (rmj * rnj + rml * rnl - a * (rmj * rnl + rml * rnj)) * inv
    cmm = 1.0 - (rmj * rmj + rml * rml - 2.0 * a * rmj * rml) * inv
    cnn = 1.0 - (rnj * rnj + rnl * rnl - 2.0 * a * rnj * rnl) * inv
    if cmm <= 0.0 or cnn <= 0.0:
        return 0.0
    rho = cmn / math.sqrt(cmm * cnn)
    return math.asin(min(1.0, max(-1.0, rho)))


@njit(cache=True)
def orthant4(r):
    """Pr(u > 0) for ``u ~ N(0, r)``, ``r`` a 4x4 correlation matrix (Plackett).

    See the module docstring for the formula; absolute accuracy about 1e-13.
    """
    total = 1.0 / 16.0
    correction = 0.0
    for j in range(4):
        for l in range(j + 1, 4):
            rho = r[j, l]
            if rho == 0.0:
                continue
            theta_end = math.asin(rho)
            total += theta_end / (8.0 * math.pi)
            m = -1
            n = -1
            for k in range(4):
                if k != j and k != l:
                    if m < 0:
                        m = k
                    else:
                        n = k
            integral = 0.0
            for k in range(_TS_NODES.shape[0]):
                theta = theta_end * _TS_NODES[k]
                sin_theta = math.sin(theta)
                cos2 = math.cos(theta) ** 2
                if cos2 <= 0.0:
                    continue
                t = sin_theta / rho
                integral += _TS_WEIGHTS[k] * _conditional_asin(
                    r, t, j, l, m, n, sin_theta, cos2
                )
            correction += theta_end * integral
    return total + correction / (4.0 * math.pi * math.pi)


@njit(cache=True)
def orthant_probability(c, idx, k):
    """Pr(u_j > 0 for j in idx[:k]) for ``u ~ N(0, c)``, ``k <= 4``."""
    if k == 0:
        return 1.0
    if k == 1:
        return 0.5
    if k == 2:
        return 0.25 + math.asin(correlation(c, idx[0], idx[1])) / TWO_PI
    if k == 3:
        s = (
            math.asin(correlation(c, idx[0], idx[1]))
            + math.asin(correlation(c, idx[0], idx[2]))
            + math.asin(correlation(c, idx[1], idx[2]))
        )
        return 0.125 + s / (2.0 * TWO_PI)
    r = np.empty((4, 4))
    for a in range(4):
        for b in range(4):
            r[a, b] = 1.0 if a == b else correlation(c, idx[a], idx[b])
    return orthant4(r)


@njit(cache=True)
def _without(idx, k, j, out):
    """Copy idx[:k] without the entries equal to j into ``out``; return the count."""
    count = 0
    for a in range(k):
        if idx[a] != j:
            out[count] = idx[a]
            count += 1
    return count


@njit(cache=True)
def orthant_first_moment(c, idx, k, p):
    """E[u_p 1{u_j > 0, j in idx[:k]}] for ``u ~ N(0, c)``."""
    rest = np.empty(4, dtype=np.int64)
    total = 0.0
    for a in range(k):
        j = idx[a]
        if c[p, j] == 0.0 or c[j, j] <= 0.0:
            continue
        cj = condition_on_zero(c, j)
        n = _without(idx, k, j, rest)
        total += c[p, j] / math.sqrt(TWO_PI * c[j, j]) * orthant_probability(cj, rest, n)
    return total


@njit(cache=True)
def orthant_second_moment(c, idx, k, p, q):
    """E[u_p u_q 1{u_j > 0, j in idx[:k]}] for ``u ~ N(0, c)``."""
    total = c[p, q] * orthant_probability(c, idx, k)
    rest = np.empty(4, dtype=np.int64)
    rest2 = np.empty(4, dtype=np.int64)
    for a in range(k):
        j = idx[a]
        if c[p, j] == 0.0 or c[j, j] <= 0.0:
            continue
        cj = condition_on_zero(c, j)
        n = _without(idx, k, j, rest)
        for b in range(n):
            l = rest[b]
            det = c[j, j] * c[l, l] - c[j, l] * c[j, l]
            if cj[q, l] == 0.0 or det <= 0.0:
                continue
            cjl = condition_on_zero(cj, l)
            n2 = _without(rest, n, l, rest2)
            total += (
                c[p, j] * cj[q, l] / (TWO_PI * math.sqrt(det))
                * orthant_probability(cjl, rest2, n2)
            )
    return total
