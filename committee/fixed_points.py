r"""The symmetric (unspecialised) fixed point behind the plateau, and its spectrum.

For ``K = M`` and ``T = I`` the ODEs are invariant under permuting student and
teacher units together; the *symmetric subspace*

.. math::

    R_{in} = R\ (i = n), \quad R_{in} = S\ (i \ne n), \quad
    Q_{ii} = Q, \quad Q_{ik} = C\ (i \ne k)

is invariant, and so is its *unspecialised* part ``R = S``, in which every
student unit has the same overlap with every teacher unit.  The plateau of
ε_g is the flow passing near the fixed point in that part (Saad & Solla
1995).  :func:`plateau_fixed_point` finds it:

1. integrate the reduced ODE in ``(R = S, Q, C)`` from ``R = S = 0``,
   ``Q = 0.5``, ``C = 0`` until it settles (the fixed point attracts within the
   unspecialised part), then
2. polish with ``scipy.optimize.root`` (``hybr``) to a residual near round-off.

:func:`spectrum` linearises the full ``(K·M + K(K+1)/2)``-dimensional system
there (fourth-order central differences, step 1e-3, error about 1e-11) and
returns all eigenvalues and eigenvectors, in the state order of
:mod:`committee.state` and in the convention's time unit (α for ``full``,
ηα for ``small_eta``).  Eigenvectors have unit norm, sign fixed so that their
largest component is positive; eigenvalues are sorted by decreasing real part.

The escape from the plateau follows the eigenvector of the largest eigenvalue.
For ``K = M = 2`` and ReLU it is ∝ (½, −½, −½, ½, 0, 0, 0) — ``R11 + R22``
grows against ``R12 + R21``, the students specialise — with eigenvalue
≈ 0.24 in the ``small_eta`` convention (time ηα): this is the value of
Straat & Biehl (2019), whose plot used η = 0.1, so that in units of α the
escape rate there is about 0.024 (the ``full`` convention gives 0.0231 at
η = 0.1).
"""
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.optimize

from .state import pack, state_size, unpack


def symmetric_state(K, R, S, Q, C):
    """State vector of the symmetric subspace (K = M)."""
    R_matrix = np.full((K, K), S, dtype=np.float64)
    np.fill_diagonal(R_matrix, R)
    Q_matrix = np.full((K, K), C, dtype=np.float64)
    np.fill_diagonal(Q_matrix, Q)
    return pack(R_matrix, Q_matrix)


def _unspecialised_state(K, x):
    R, Q = x[0], x[1]
    C = x[2] if K > 1 else 0.0
    return symmetric_state(K, R, R, Q, C)


def _unspecialised_rates(model, x):
    """Rates of ``(R = S, Q, C)``: entries R11, Q11 and Q12 of the full rates."""
    K = model.K
    rates = model.rates(_unspecialised_state(K, x))
    R_rate, Q_rate = unpack(rates, K, K)
    values = [R_rate[0, 0], Q_rate[0, 0]]
    if K > 1:
        values.append(Q_rate[0, 1])
    return np.array(values)


@dataclass
class FixedPoint:
    convention: str  # "full" or "small_eta"
    R: float
    S: float
    Q: float
    C: float
    eps_g: float
    residual: float  # max |rate| at the point, in the convention's time unit
    state: np.ndarray


def _check_symmetric(model):
    if model.K != model.M or not np.array_equal(model.T, np.eye(model.M)):
        raise ValueError("the symmetric analysis needs K = M and T = identity")


def plateau_fixed_point(model, settle_time=2000.0):
    """The unspecialised symmetric fixed point of ``model`` (see module docstring).

    ``settle_time`` is the integration time of step 1 in the convention's
    time unit.  Raises ``RuntimeError`` if the polished root is not a fixed
    point to 1e-10.
    """
    _check_symmetric(model)
    K = model.K
    start = np.array([0.0, 0.5, 0.0][: 3 if K > 1 else 2])
    settled = scipy.integrate.solve_ivp(
        lambda t, x: _unspecialised_rates(model, x), (0.0, settle_time), start,
        method="DOP853", rtol=1e-8, atol=1e-10,
    )
    guess = settled.y[:, -1]
    root = scipy.optimize.root(lambda x: _unspecialised_rates(model, x), guess,
                               method="hybr", options={"xtol": 1e-14})
    state = _unspecialised_state(K, root.x)
    residual = float(np.max(np.abs(model.rates(state))))
    if not residual < 1e-10:
        raise RuntimeError(
            f"no symmetric fixed point found for {model}: residual {residual:.2e} "
            f"({root.message})"
        )
    eps_g, _ = model.generalisation_error(state)
    C = root.x[2] if K > 1 else 0.0
    return FixedPoint(model.convention, root.x[0], root.x[0], root.x[1], C,
                      max(float(eps_g), 0.0), residual, state)


def jacobian(model, state, step=1e-3):
    """d(rates)/d(state) by fourth-order central differences (columns: state order)."""
    size = state_size(model.K, model.M)
    J = np.empty((size, size))
    for j in range(size):
        shifted = []
        for multiple in (2, 1, -1, -2):
            y = np.array(state, dtype=np.float64)
            y[j] += multiple * step
            shifted.append(model.rates(y))
        J[:, j] = (-shifted[0] + 8 * shifted[1] - 8 * shifted[2] + shifted[3]) / (12 * step)
    return J


def spectrum(model, state):
    """Eigenvalues (sorted by decreasing real part) and unit eigenvectors (columns)."""
    values, vectors = np.linalg.eig(jacobian(model, state))
    order = np.lexsort((-values.imag, -values.real))
    values, vectors = values[order], vectors[:, order]
    for k in range(vectors.shape[1]):
        v = vectors[:, k]
        v = v / np.linalg.norm(v)
        pivot = np.argmax(np.abs(v))
        vectors[:, k] = v * (np.abs(v[pivot]) / v[pivot])
    return values, vectors
