r"""Gaussian averages of products of activations: the right-hand sides' building blocks.

The pre-activations ``u = (x_1..x_K, y_1..y_M)`` of student and teacher units
are jointly Gaussian with covariance ``C = [[Q, R], [R^T, T]]``.  Unit ``a``
has activation ``f_a`` (the student's ``g`` or the teacher's ``h``).  The order
parameter equations need four kinds of average (``i, k`` student units,
``a, b, c, d`` any units):

=========================  ============================================  ==========
name                       average                                       enters
=========================  ============================================  ==========
:func:`mean_gg`            ⟨f_a(u_a) f_b(u_b)⟩                           ε_g
:func:`mean_dxg`           ⟨f_i'(u_i) u_b f_c(u_c)⟩                      η terms
:func:`mean_ddgg`          ⟨f_i'(u_i) f_k'(u_k) f_c(u_c) f_d(u_d)⟩       η² terms
:func:`mean_dd`            ⟨f_i'(u_i) f_k'(u_k)⟩                         output noise
=========================  ============================================  ==========

Each is computed by one of three routes, chosen from the activation families
(:mod:`committee.activations`).  Units of the ERF family are
``a + b·erf(u/(√2 s))``: erf itself (``s = 1``) or, for tanh and sigmoid, a
Kolmogorov scale mixture over ``s`` (:mod:`committee.mixtures`); averages
with such units are averaged over one independent scale per factor with a
Gauss rule (``MIXTURE_NODES``), each node a closed form, to 5e-9 absolute or
better.

1. **ERF family only** (erf, tanh, sigmoid in any mix) — the classic closed
   forms (Saad & Solla 1995, for ``g(x) = erf(x/√2)``) applied to the scaled
   variables ``u_f / s_f``:

   .. math::

       ⟨g g⟩ &= \tfrac{2}{\pi} \arcsin \frac{C_{ab}}{\sqrt{(1+C_{aa})(1+C_{bb})}}, \\
       ⟨g' u g⟩ &= \frac{2}{\pi} \frac{C_{bc}(1+C_{ii}) - C_{ib} C_{ic}}
                    {(1+C_{ii}) \sqrt{(1+C_{ii})(1+C_{cc}) - C_{ic}^2}}, \\
       ⟨g' g' g g⟩ &= \frac{4}{\pi^2 \sqrt{\Lambda_4}}
                      \arcsin \frac{\Lambda_0}{\sqrt{\Lambda_1 \Lambda_2}}, \qquad
       ⟨g' g'⟩ = \frac{2}{\pi \sqrt{\Lambda_4}},

   with :math:`\Lambda_4 = (1+C_{ii})(1+C_{kk}) - C_{ik}^2` and
   :math:`\Lambda_{0,1,2}` as in :func:`_erf_ddgg`; offsets ``a`` expand by
   parity (averages of an odd number of odd factors vanish).

2. **Linear, ReLU and the ERF family in any mix** — an exact reduction to
   orthant moments (:mod:`committee.orthant`):

   * ``relu(u) = u Θ(u)`` and ``relu'(u) = Θ(u)``; ``linear(u) = u``, ``linear' = 1``;
   * an erf derivative tilts the Gaussian:
     :math:`E[e^{-u_a^2/2s^2} F(u)] = (1 + C_{aa}/s^2)^{-1/2} E'[F(u)]`, where
     ``E'`` has covariance :math:`C - C_{\cdot a} C_{a \cdot} / (C_{aa} + s^2)`;
   * an erf value is an average of a step:
     :math:`a + b\,\mathrm{erf}(u_a/\sqrt2 s) = (a - b) + 2b\, E_w[\Theta(u_a - s w)]`
     with ``w ~ N(0, 1)`` independent, so ``v_a = u_a − s w`` joins the
     Gaussian vector (variance :math:`C_{aa} + s^2`, covariances :math:`C_{a\cdot}`).

   What remains is :math:`E[u_p u_q \prod_{j \in S} \Theta(z_j)]` with at most
   two polynomial factors and at most four step functions.  For the ERF family
   alone this route reproduces route 1 (tested); route 1 is kept because it
   is several times faster.

3. **Any user-registered unit** — tensor Gauss–Hermite quadrature in whitened
   coordinates: with :math:`C_S = V \Lambda V^T` the covariance of the ``m``
   distinct variables of value and derivative factors,
   :math:`u = V \Lambda^{1/2} z`, :math:`z \sim N(0, I)`, and directions with
   eigenvalue below ``1e-13 · max Λ`` dropped; an identity factor on another
   unit is replaced by its regression on ``z`` (exact).  The number of nodes
   per direction depends on the number ``r`` of directions:
   ``QUADRATURE_NODES[r]``.  Gauss–Hermite converges fast for entire
   functions of moderate growth but slowly for functions with poles near the
   real axis: for tanh (poles at ``±iπ/2``) at order parameters up to about 1
   the absolute error is about 2e-6 (r = 1), 1e-4 (r = 2), 4e-4 (r = 3) and
   2e-3 (r = 4) (``tests/test_integrals.py``, against route 1).  With a ReLU
   unit in the same average the integrand is kinked and the error decays only
   algebraically, up to about 1e-2.  Register an activation only when no
   closed form or scale mixture exists, and check its accuracy.

Factor kinds in the generic routes: ``VALUE`` (``f_a(u_a)``), ``DERIV``
(``f_a'(u_a)``) and ``IDENTITY`` (``u_a``).
"""
import math

import numpy as np
import scipy.special
from numba import njit

from .activations import (
    ERF, ERF_AMPLITUDE, ERF_CODE, ERF_MIXTURE, ERF_OFFSET, ERF_SCALE, FAMILY_OF_CODE, QUADRATURE, RELU,
    USER_CODE, evaluate, get, kernel_activations,
)
from .mixtures import kolmogorov_tables
from .orthant import orthant_first_moment, orthant_probability, orthant_second_moment

VALUE, DERIV, IDENTITY = 0, 1, 2

_TWO_OVER_PI = 2.0 / math.pi
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

# numba freezes the module-level arrays below into the cached kernels of this
# module: a change to them (or to the functions computing them) takes effect
# after deleting committee/__pycache__/*.nb[ic].

#: Kolmogorov nodes per mixture factor, indexed by the number m of mixture
#: factors in an average: absolute error below 1e-13 (m = 1), 1e-12 (m = 2),
#: 1e-11 (m = 3) and 5e-9 (m = 4, worst case g'(x)² g(x)² for tanh).
MIXTURE_NODES = np.array([1, 16, 14, 12, 10], dtype=np.int64)
KOLMOGOROV_NODES, KOLMOGOROV_WEIGHTS = kolmogorov_tables(int(MIXTURE_NODES.max()))

#: Gauss–Hermite nodes per whitened direction, indexed by the number of directions.
QUADRATURE_NODES = np.array([1, 60, 40, 24, 16], dtype=np.int64)


#: the ``scale`` of :func:`quadrature_average` can be 1 (default) to 4
MAX_QUADRATURE_SCALE = 4


def _hermite_tables():
    """Probabilists' Gauss–Hermite rules (weights summing to 1) in row ``n`` for
    every node count ``QUADRATURE_NODES[r] * scale`` that can occur."""
    size = int(QUADRATURE_NODES.max()) * MAX_QUADRATURE_SCALE
    nodes = np.zeros((size + 1, size))
    weights = np.zeros((size + 1, size))
    for n in {int(q) * k for q in QUADRATURE_NODES for k in range(1, MAX_QUADRATURE_SCALE + 1)}:
        x, w = scipy.special.roots_hermitenorm(n)
        nodes[n, :n] = x
        weights[n, :n] = w / w.sum()
    return nodes, weights


_GH_NODES, _GH_WEIGHTS = _hermite_tables()


# ------------------------------------------------------ route 1: ERF family
@njit(cache=True, inline="always")
def _erf_gg(C, a, b):
    return _TWO_OVER_PI * math.asin(C[a, b] / math.sqrt((1.0 + C[a, a]) * (1.0 + C[b, b])))


@njit(cache=True, inline="always")
def _erf_dxg(C, i, b, c):
    lam3 = (1.0 + C[i, i]) * (1.0 + C[c, c]) - C[i, c] * C[i, c]
    num = C[b, c] * (1.0 + C[i, i]) - C[i, b] * C[i, c]
    return _TWO_OVER_PI * num / ((1.0 + C[i, i]) * math.sqrt(lam3))


@njit(cache=True, inline="always")
def _erf_ddgg(C, i, k, c, d):
    """⟨g'(u_i) g'(u_k) g(u_c) g(u_d)⟩ for g = erf(x/√2) (Saad & Solla 1995)."""
    ai = 1.0 + C[i, i]
    ak = 1.0 + C[k, k]
    lam4 = ai * ak - C[i, k] * C[i, k]
    lam0 = (
        lam4 * C[c, d]
        - C[k, c] * C[k, d] * ai
        - C[i, c] * C[i, d] * ak
        + C[i, k] * C[i, c] * C[k, d]
        + C[i, k] * C[i, d] * C[k, c]
    )
    lam1 = lam4 * (1.0 + C[c, c]) - C[k, c] ** 2 * ai - C[i, c] ** 2 * ak + 2.0 * C[i, k] * C[i, c] * C[k, c]
    lam2 = lam4 * (1.0 + C[d, d]) - C[k, d] ** 2 * ai - C[i, d] ** 2 * ak + 2.0 * C[i, k] * C[i, d] * C[k, d]
    ratio = lam0 / math.sqrt(lam1 * lam2)
    return 4.0 / (math.pi * math.pi * math.sqrt(lam4)) * math.asin(min(1.0, max(-1.0, ratio)))


@njit(cache=True, inline="always")
def _erf_dd(C, i, k):
    return _TWO_OVER_PI / math.sqrt((1.0 + C[i, i]) * (1.0 + C[k, k]) - C[i, k] * C[i, k])


@njit(cache=True)
def _classic_average(C, units, kinds, nf, codes, scales, scaled):
    """Route 1 at fixed scales ``scales[f]``: factor patterns gg, dd, dxg, ddgg,
    applied to the scaled factors ``u_f / s_f`` (``scaled``: 4x4 scratch space)."""
    prefactor = 1.0
    for f in range(nf):
        sf = 1.0 if kinds[f] == IDENTITY else scales[f]
        if kinds[f] == DERIV:
            prefactor *= ERF_AMPLITUDE[codes[units[f]]] / sf
        for g in range(nf):
            sg = 1.0 if kinds[g] == IDENTITY else scales[g]
            scaled[f, g] = C[units[f], units[g]] / (sf * sg)
    if nf == 2 and kinds[0] == DERIV:
        return prefactor * _erf_dd(scaled, 0, 1)
    if nf == 2:
        a0, a1 = ERF_OFFSET[codes[units[0]]], ERF_OFFSET[codes[units[1]]]
        b0, b1 = ERF_AMPLITUDE[codes[units[0]]], ERF_AMPLITUDE[codes[units[1]]]
        return a0 * a1 + b0 * b1 * _erf_gg(scaled, 0, 1)
    if nf == 3:
        return prefactor * ERF_AMPLITUDE[codes[units[2]]] * _erf_dxg(scaled, 0, 1, 2)
    ac, ad = ERF_OFFSET[codes[units[2]]], ERF_OFFSET[codes[units[3]]]
    bc, bd = ERF_AMPLITUDE[codes[units[2]]], ERF_AMPLITUDE[codes[units[3]]]
    return prefactor * (ac * ad * _erf_dd(scaled, 0, 1) + bc * bd * _erf_ddgg(scaled, 0, 1, 2, 3))


# ----------------------------------------------------- shared: distinct variables
@njit(cache=True)
def _distinct(units, nf, variables, location):
    """Distinct entries of units[:nf] into ``variables``; ``location[f]`` indexes them."""
    count = 0
    for f in range(nf):
        found = -1
        for v in range(count):
            if variables[v] == units[f]:
                found = v
        if found < 0:
            variables[count] = units[f]
            found = count
            count += 1
        location[f] = found
    return count


@njit(cache=True)
def _add_to_set(members, count, item):
    for a in range(count):
        if members[a] == item:
            return count
    members[count] = item
    return count + 1


# ------------------------------------------------ route 2: orthant reduction
@njit(cache=True)
def _orthant_moment(S, theta, ntheta, poly, npoly):
    if npoly == 0:
        return orthant_probability(S, theta, ntheta)
    if npoly == 1:
        if ntheta == 0:
            return 0.0
        return orthant_first_moment(S, theta, ntheta, poly[0])
    if ntheta == 0:
        return S[poly[0], poly[1]]
    return orthant_second_moment(S, theta, ntheta, poly[0], poly[1])


@njit(cache=True)
def _orthant_average(C, units, kinds, nf, codes, scales):
    """Route 2 at fixed scales ``scales[f]`` of the ERF-family factors."""
    variables = np.empty(4, dtype=np.int64)
    location = np.empty(4, dtype=np.int64)
    n = _distinct(units, nf, variables, location)
    S = np.zeros((n + 2, n + 2))
    for a in range(n):
        for b in range(n):
            S[a, b] = C[variables[a], variables[b]]
    prefactor = 1.0
    theta = np.empty(6, dtype=np.int64)
    ntheta = 0
    # derivatives first: erf derivatives tilt the measure of the u variables
    for f in range(nf):
        if kinds[f] != DERIV:
            continue
        a = location[f]
        code = codes[units[f]]
        family = FAMILY_OF_CODE[code]
        if family == ERF:
            denominator = S[a, a] + scales[f] * scales[f]
            prefactor *= ERF_AMPLITUDE[code] * _SQRT_2_OVER_PI / math.sqrt(denominator)
            column = S[:n, a].copy()
            for p in range(n):
                for q in range(n):
                    S[p, q] -= column[p] * column[q] / denominator
        elif family == RELU:
            ntheta = _add_to_set(theta, ntheta, a)
    poly = np.empty(2, dtype=np.int64)
    npoly = 0
    steps = np.empty(2, dtype=np.int64)  # augmented variables of erf values
    step_constant = np.empty(2)  # a - b: the term without the step
    step_coefficient = np.empty(2)  # 2b: the term with the step
    step_units = np.empty(2, dtype=np.int64)
    nsteps = 0
    size = n
    for f in range(nf):
        a = location[f]
        code = codes[units[f]]
        family = FAMILY_OF_CODE[code]
        if kinds[f] == IDENTITY or (kinds[f] == VALUE and family != ERF):
            poly[npoly] = a
            npoly += 1
            if kinds[f] == VALUE and family == RELU:
                ntheta = _add_to_set(theta, ntheta, a)
        elif kinds[f] == VALUE:  # erf value: augmented v = u_a - s w
            v = size
            size += 1
            for p in range(n):
                S[v, p] = S[a, p]
                S[p, v] = S[a, p]
            for t in range(nsteps):
                S[v, steps[t]] = S[a, step_units[t]]
                S[steps[t], v] = S[a, step_units[t]]
            S[v, v] = S[a, a] + scales[f] * scales[f]
            steps[nsteps] = v
            step_units[nsteps] = a
            step_constant[nsteps] = ERF_OFFSET[code] - ERF_AMPLITUDE[code]
            step_coefficient[nsteps] = 2.0 * ERF_AMPLITUDE[code]
            nsteps += 1
    S = S[:size, :size].copy()
    total = 0.0
    subset = np.empty(6, dtype=np.int64)
    for mask in range(1 << nsteps):
        coefficient = 1.0
        count = ntheta
        subset[:ntheta] = theta[:ntheta]
        for t in range(nsteps):
            if mask & (1 << t):
                coefficient *= step_coefficient[t]
                subset[count] = steps[t]
                count += 1
            else:
                coefficient *= step_constant[t]
        if coefficient != 0.0:
            total += coefficient * _orthant_moment(S, subset, count, poly, npoly)
    return prefactor * total


@njit(cache=True)
def closed_form_average(C, units, kinds, nf, codes, classic, work, scratch):
    """Average of a product of factors over built-in units (routes 1 and 2).

    ``units[f]``, ``kinds[f]`` for ``f < nf <= 4`` name the factors and
    ``codes[a]`` is the activation code of unit ``a``.  ERF-family factors with
    a scale mixture are averaged over independent Kolmogorov scales with the
    Gauss rule of ``MIXTURE_NODES[m]`` nodes each (``m`` mixture factors);
    ``classic`` selects route 1 (all units in the ERF family) or route 2.
    ``work`` (int64, 8) and ``scratch`` (float64, 24) are scratch space, so that
    the hot path allocates nothing.
    """
    mixed, counter = work[:4], work[4:8]
    scales, base = scratch[:4], scratch[4:8]
    scaled = scratch[8:24].reshape((4, 4))
    m = 0
    for f in range(4):
        scales[f] = 1.0
        counter[f] = 0
    for f in range(nf):
        if kinds[f] != IDENTITY:
            code = codes[units[f]]
            scales[f] = ERF_SCALE[code]
            if ERF_MIXTURE[code]:
                mixed[m] = f
                m += 1
    nodes = MIXTURE_NODES[m]
    base[:] = scales
    total = 0.0
    for _ in range(nodes**m):
        weight = 1.0
        for j in range(m):
            f = mixed[j]
            scales[f] = base[f] * KOLMOGOROV_NODES[nodes, counter[j]]
            weight *= KOLMOGOROV_WEIGHTS[nodes, counter[j]]
        if classic:
            total += weight * _classic_average(C, units, kinds, nf, codes, scales, scaled)
        else:
            total += weight * _orthant_average(C, units, kinds, nf, codes, scales)
        for j in range(m):  # next multi-index
            counter[j] += 1
            if counter[j] < nodes:
                break
            counter[j] = 0
    return total


# ------------------------------------------------------- route 3: quadrature
@njit(cache=True)
def quadrature_average(C, units, kinds, nf, student, acts, scale):
    """Average of a product of factors by Gauss–Hermite quadrature (route 3).

    Only the units of ``VALUE`` and ``DERIV`` factors are integrated over; an
    ``IDENTITY`` factor on another unit ``b`` is replaced by its regression
    ``E[u_b | z] = Σ_d Cov(u_b, z_d) z_d`` on the whitened variables, exact
    because the residual is independent of them and has mean zero.  ``scale``
    multiplies the number of nodes per direction (2 gives the tests' reference).
    """
    variables = np.empty(4, dtype=np.int64)
    location = np.full(4, -1, dtype=np.int64)
    n = 0
    for f in range(nf):
        if kinds[f] == IDENTITY:
            continue
        found = -1
        for v in range(n):
            if variables[v] == units[f]:
                found = v
        if found < 0:
            variables[n] = units[f]
            found = n
            n += 1
        location[f] = found
    S = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            S[a, b] = C[variables[a], variables[b]]
    eigenvalues, eigenvectors = np.linalg.eigh(S)
    largest = max(eigenvalues[n - 1], 0.0)
    L = np.zeros((n, n))
    kept = np.empty(n, dtype=np.int64)
    r = 0
    for e in range(n):
        if eigenvalues[e] > 1e-13 * largest and eigenvalues[e] > 0.0:
            for a in range(n):
                L[a, r] = eigenvectors[a, e] * math.sqrt(eigenvalues[e])
            kept[r] = e
            r += 1
    # regression coefficients of identity factors on the whitened directions
    gamma = np.zeros((nf, n))
    for f in range(nf):
        if kinds[f] == IDENTITY:
            for v in range(n):
                if variables[v] == units[f]:
                    location[f] = v
            if location[f] < 0:
                for d in range(r):
                    e = kept[d]
                    for a in range(n):
                        gamma[f, d] += C[units[f], variables[a]] * eigenvectors[a, e]
                    gamma[f, d] /= math.sqrt(eigenvalues[e])
    nodes = QUADRATURE_NODES[r] * scale
    points = nodes**r
    counter = np.zeros(4, dtype=np.int64)
    z = np.zeros(4)
    u = np.empty(n)
    total = 0.0
    for _ in range(points):
        weight = 1.0
        for d in range(r):
            z[d] = _GH_NODES[nodes, counter[d]]
            weight *= _GH_WEIGHTS[nodes, counter[d]]
        for a in range(n):
            value = 0.0
            for d in range(r):
                value += L[a, d] * z[d]
            u[a] = value
        product = weight
        for f in range(nf):
            if location[f] >= 0:
                x = u[location[f]]
            else:
                x = 0.0
                for d in range(r):
                    x += gamma[f, d] * z[d]
            if kinds[f] != IDENTITY:
                x = evaluate(acts, student[units[f]], kinds[f] == DERIV, x)
            product *= x
        total += product
        for d in range(r):  # next multi-index
            counter[d] += 1
            if counter[d] < nodes:
                break
            counter[d] = 0
    return total


# ------------------------------------------------------------ routes
#: routes of a student–teacher pair: both erf (route 1 on C itself), both
#: linear (moments of C), both in the ERF family (route 1 with scales), other
#: built-in pairs (route 2), pairs with a user activation (per average)
ERF_ROUTE, LINEAR_ROUTE, ERF_FAMILY_ROUTE, CLOSED_ROUTE, MIXED_ROUTE = 0, 1, 2, 3, 4


@njit(cache=True, inline="always")
def _plain_erf_average(C, units, kinds, nf):
    """Route 1 for erf units (no scale mixture): the formulas read ``C`` directly."""
    if nf == 2 and kinds[0] == DERIV:
        return _erf_dd(C, units[0], units[1])
    if nf == 2:
        return _erf_gg(C, units[0], units[1])
    if nf == 3:
        return _erf_dxg(C, units[0], units[1], units[2])
    return _erf_ddgg(C, units[0], units[1], units[2], units[3])


@njit(cache=True)
def _classic_pattern(kinds, nf):
    """True for the factor patterns of route 1: gg, dd, dxg and ddgg."""
    if nf == 2:
        return kinds[0] == kinds[1] and kinds[0] != IDENTITY
    if nf == 3:
        return kinds[0] == DERIV and kinds[1] == IDENTITY and kinds[2] == VALUE
    return nf == 4 and kinds[0] == DERIV and kinds[1] == DERIV and kinds[2] == VALUE and kinds[3] == VALUE


@njit(cache=True)
def _route_of_average(units, kinds, nf, codes):
    """The route of one average of a MIXED_ROUTE run, from the units it involves."""
    all_erf = True
    all_erf_family = True
    for f in range(nf):
        if kinds[f] == IDENTITY:
            continue
        code = codes[units[f]]
        if code == USER_CODE:
            return MIXED_ROUTE
        all_erf = all_erf and code == ERF_CODE
        all_erf_family = all_erf_family and FAMILY_OF_CODE[code] == ERF
    if all_erf:
        return ERF_ROUTE
    return ERF_FAMILY_ROUTE if all_erf_family else CLOSED_ROUTE


@njit(inline="always")
def route_average(route, C, units, kinds, nf, codes, student, acts, work, scratch):
    """⟨Π_f factor_f⟩ by the route of the run (``route_of``).

    ``codes[a]`` and ``student[a]`` describe unit ``a``; ``acts`` is the
    activation pair (:func:`committee.activations.kernel_activations`);
    ``work`` (int64, 8) and ``scratch`` (float64, 24) are scratch space
    allocated once per right-hand side.  Inlined into the right-hand sides, so
    the route test costs a branch.
    """
    if route == MIXED_ROUTE:
        route = _route_of_average(units, kinds, nf, codes)
        if route == MIXED_ROUTE:
            return quadrature_average(C, units, kinds, nf, student, acts, 1)
    classic = _classic_pattern(kinds, nf)
    if route == ERF_ROUTE and classic:
        return _plain_erf_average(C, units, kinds, nf)
    classic = classic and (route == ERF_ROUTE or route == ERF_FAMILY_ROUTE)
    return closed_form_average(C, units, kinds, nf, codes, classic, work, scratch)


# The four averages of the equations.  Inlined: for the erf and linear routes
# they reduce to a formula on C, with no call and no bookkeeping.
@njit(inline="always")
def mean_gg(route, C, a, b, codes, student, acts, work, scratch):
    """⟨f_a(u_a) f_b(u_b)⟩.  ``work`` (int64, 16) and ``scratch`` (float64, 24)."""
    if route == ERF_ROUTE:
        return _erf_gg(C, a, b)
    if route == LINEAR_ROUTE:
        return C[a, b]
    units, kinds = work[:4], work[4:8]
    units[0], kinds[0] = a, VALUE
    units[1], kinds[1] = b, VALUE
    return route_average(route, C, units, kinds, 2, codes, student, acts, work[8:], scratch)


@njit(inline="always")
def mean_dxg(route, C, i, b, c, codes, student, acts, work, scratch):
    """⟨f_i'(u_i) u_b f_c(u_c)⟩."""
    if route == ERF_ROUTE:
        return _erf_dxg(C, i, b, c)
    if route == LINEAR_ROUTE:
        return C[b, c]
    units, kinds = work[:4], work[4:8]
    units[0], kinds[0] = i, DERIV
    units[1], kinds[1] = b, IDENTITY
    units[2], kinds[2] = c, VALUE
    return route_average(route, C, units, kinds, 3, codes, student, acts, work[8:], scratch)


@njit(inline="always")
def mean_ddgg(route, C, i, k, c, d, codes, student, acts, work, scratch):
    """⟨f_i'(u_i) f_k'(u_k) f_c(u_c) f_d(u_d)⟩."""
    if route == ERF_ROUTE:
        return _erf_ddgg(C, i, k, c, d)
    if route == LINEAR_ROUTE:
        return C[c, d]
    units, kinds = work[:4], work[4:8]
    units[0], kinds[0] = i, DERIV
    units[1], kinds[1] = k, DERIV
    units[2], kinds[2] = c, VALUE
    units[3], kinds[3] = d, VALUE
    return route_average(route, C, units, kinds, 4, codes, student, acts, work[8:], scratch)


@njit(inline="always")
def mean_dd(route, C, i, k, codes, student, acts, work, scratch):
    """⟨f_i'(u_i) f_k'(u_k)⟩."""
    if route == ERF_ROUTE:
        return _erf_dd(C, i, k)
    if route == LINEAR_ROUTE:
        return 1.0
    units, kinds = work[:4], work[4:8]
    units[0], kinds[0] = i, DERIV
    units[1], kinds[1] = k, DERIV
    return route_average(route, C, units, kinds, 2, codes, student, acts, work[8:], scratch)


def route_of(student, teacher):
    """The route of a student–teacher pair (see ``ERF_ROUTE`` and following)."""
    pair = {get(student), get(teacher)}
    families = {activation.family for activation in pair}
    if QUADRATURE in families:
        return MIXED_ROUTE
    if pair == {get("erf")}:
        return ERF_ROUTE
    if pair == {get("linear")}:
        return LINEAR_ROUTE
    return ERF_FAMILY_ROUTE if families == {ERF} else CLOSED_ROUTE


def unit_codes(student, teacher, K, M):
    """Activation code of each of the K + M units (students first)."""
    return np.array([get(student).code] * K + [get(teacher).code] * M, dtype=np.int64)


# ------------------------------------------------------------ Python access
def gaussian_average(cov, factors, n_student, student="erf", teacher=None, route="auto",
                     scale=1):
    """⟨Π factor⟩ for ``u ~ N(0, cov)``, units ``< n_student`` being students.

    ``teacher`` defaults to the student's activation.
    ``factors`` is a list of ``(unit, kind)`` with kind ``"value"``,
    ``"deriv"`` or ``"identity"`` (at most four).  ``route`` is ``"auto"`` (as
    the ODE does), ``"closed"`` (route 2, forced) or ``"quadrature"`` (route 3
    with ``scale`` times the default nodes).  For tests and exploration; the
    ODE calls the compiled kernels directly.
    """
    kind_codes = {"value": VALUE, "deriv": DERIV, "identity": IDENTITY}
    teacher = student if teacher is None else teacher
    cov = np.ascontiguousarray(cov, dtype=np.float64)
    size = cov.shape[0]
    units = np.array([u for u, _ in factors], dtype=np.int64)
    kinds = np.array([kind_codes[k] for _, k in factors], dtype=np.int64)
    is_student = np.arange(size) < n_student
    codes = unit_codes(student, teacher, n_student, size - n_student)
    acts = kernel_activations(student, teacher)
    if route == "auto":
        return _average(route_of(student, teacher), cov, units, kinds, len(factors), codes,
                        is_student, acts)
    if route == "closed":
        return closed_form_average(cov, units, kinds, len(factors), codes, False,
                                   np.empty(8, dtype=np.int64), np.empty(24))
    if route == "quadrature":
        return quadrature_average(cov, units, kinds, len(factors), is_student, acts, scale)
    raise ValueError(f"route must be 'auto', 'closed' or 'quadrature', not {route!r}")


@njit(cache=True)
def _average(route, C, units, kinds, nf, codes, student, acts):
    return route_average(route, C, units, kinds, nf, codes, student, acts,
                         np.empty(8, dtype=np.int64), np.empty(24))
