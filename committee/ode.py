r"""Order-parameter ODEs of on-line gradient descent in soft committee machines (N → ∞).

Student ``σ = Σ_i g(x_i)``, teacher ``τ = Σ_n h(y_n) + ζ`` with output noise
``ζ ~ N(0, noise)``; ``δ_i = (τ − σ) g'(x_i)``; the update
``J_i ← J_i + (η/N)(δ_i ξ − γ J_i)`` with weight decay ``γ``.  In the limit
``N → ∞`` the order parameters follow (Saad & Solla 1995, Biehl & Schwarze 1995)

.. math::

    \frac{dR_{in}}{d\alpha} &= \eta \langle \delta_i y_n \rangle - \eta\gamma R_{in}, \\
    \frac{dQ_{ik}}{d\alpha} &= \eta \big(\langle \delta_i x_k \rangle + \langle \delta_k x_i \rangle\big)
        - 2\eta\gamma Q_{ik}
        + \eta^2 \big(\langle g'(x_i) g'(x_k) (\tau_0 - \sigma)^2 \rangle
        + \mathrm{noise}\, \langle g'(x_i) g'(x_k) \rangle\big),

and the generalisation error (against the noise-free teacher output ``τ_0``) is

.. math::

    \epsilon_g = \tfrac12 \langle (\tau_0 - \sigma)^2 \rangle
               = \tfrac12 \sum_{a,b} s_a s_b \langle f_a(u_a) f_b(u_b) \rangle,

with ``s_a = +1`` for teacher and ``−1`` for student units.  Writing
``τ_0 − σ = Σ_c s_c f_c(u_c)`` turns every average into the sums
``⟨δ_i u_b⟩ = Σ_c s_c ⟨g'(x_i) u_b f_c(u_c)⟩`` and
``⟨g' g' (τ_0 − σ)²⟩ = Σ_{c,d} s_c s_d ⟨g'(x_i) g'(x_k) f_c f_d⟩`` of
:mod:`committee.integrals`.

Two conventions:

``full`` (``eta2=True``)
    the equations above, time α;
``small_eta`` (``eta2=False``)
    the η² terms dropped and time measured in ``ηα`` (the right-hand side is
    divided by η).  :func:`solve` still records at the requested α.

Floor of ε_g
    ε_g is a signed sum of O(1) averages, so its absolute round-off error is
    about ``64 ε_mach Σ_{a,b} |⟨f_a f_b⟩|`` (``ε_mach = 2.2e-16``): roughly
    1e-14 to 1e-13 for the sizes used here.  Along a trajectory a second
    floor is usually higher: the integrator resolves the state only to its
    tolerances, about ``rtol·Σ|y| + atol·len(y)`` (some 1e-10 at the default
    rtol = 1e-10), and near the solution ε_g moves linearly with the state.
    :func:`solve` reports values below the larger floor — and negative values
    — as that floor with ``eps_g_at_floor = True``: an upper bound, not a
    measurement.
"""
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.integrate
from numba import njit

from .activations import kernel_activations
from .integrals import mean_dd, mean_ddgg, mean_dxg, mean_gg, route_of, unit_codes
from .state import covariance, pack, state_size, unpack

#: relative size of the ε_g round-off floor (see the module docstring)
EPS_G_FLOOR_FACTOR = 64.0 * np.finfo(np.float64).eps


@njit(cache=True)
def _rates(route, y, K, M, T, eta, eta_sq, noise, decay, codes, student, acts, out):
    """Right-hand side ``out = dy/dt``: linear terms times ``eta``, η² terms
    times ``eta_sq``, weight decay ``decay`` (already times the learning rate).

    ``route`` and the unit descriptions are those of :func:`committee.integrals.route_average`.
    """
    C = covariance(y, K, M, T)
    L = K + M
    work = np.empty(16, dtype=np.int64)
    scratch = np.empty(24)
    sign = np.empty(L)
    for a in range(L):
        sign[a] = -1.0 if a < K else 1.0
    # drift[i, b] = <delta_i u_b> = sum_c s_c <g'(x_i) u_b f_c(u_c)>
    drift = np.zeros((K, L))
    for i in range(K):
        for b in range(L):
            total = 0.0
            for c in range(L):
                total += sign[c] * mean_dxg(route, C, i, b, c, codes, student, acts, work, scratch)
            drift[i, b] = total
    for i in range(K):
        for n in range(M):
            p = i * M + n
            out[p] = eta * drift[i, K + n] - decay * y[p]
    p = K * M
    for i in range(K):
        for k in range(i, K):
            rate = eta * (drift[i, k] + drift[k, i]) - 2.0 * decay * y[p]
            if eta_sq != 0.0:
                second = 0.0
                for c in range(L):
                    for d in range(c, L):
                        weight = sign[c] * sign[d] * (1.0 if c == d else 2.0)
                        second += weight * mean_ddgg(
                            route, C, i, k, c, d, codes, student, acts, work, scratch
                        )
                if noise != 0.0:
                    second += noise * mean_dd(route, C, i, k, codes, student, acts, work, scratch)
                rate += eta_sq * second
            out[p] = rate
            p += 1


@njit(cache=True)
def _generalisation_errors(route, Y, K, M, T, codes, student, acts, eps, floor):
    """ε_g and its round-off floor for each row of ``Y`` (states)."""
    L = K + M
    work = np.empty(16, dtype=np.int64)
    scratch = np.empty(24)
    for row in range(Y.shape[0]):
        C = covariance(Y[row], K, M, T)
        total = 0.0
        magnitude = 0.0
        for a in range(L):
            for b in range(a, L):
                term = (1.0 if a == b else 2.0) * mean_gg(
                    route, C, a, b, codes, student, acts, work, scratch
                )
                if (a < K) != (b < K):
                    term = -term
                total += term
                magnitude += abs(term)
        eps[row] = 0.5 * total
        floor[row] = 0.5 * magnitude * EPS_G_FLOOR_FACTOR


@dataclass
class Model:
    """One student–teacher scenario: sizes, activations, learning rate and options.

    ``T`` defaults to the identity; ``teacher`` defaults to the student's
    activation.  ``eta2=False`` selects the small-learning-rate convention.
    """

    K: int
    M: int
    eta: float
    student: str = "erf"
    teacher: str | None = None
    T: np.ndarray | None = None
    eta2: bool = True
    noise: float = 0.0
    weight_decay: float = 0.0
    _codes: np.ndarray = field(init=False, repr=False)
    _is_student: np.ndarray = field(init=False, repr=False)
    _route: int = field(init=False, repr=False)
    _acts: tuple = field(init=False, repr=False)

    def __post_init__(self):
        if self.teacher is None:
            self.teacher = self.student
        if self.K < 1 or self.M < 1:
            raise ValueError(f"K and M must be at least 1, got K={self.K}, M={self.M}")
        if not self.eta > 0:
            raise ValueError(f"eta must be positive, got {self.eta}")
        if self.noise < 0:
            raise ValueError(f"noise is a variance and must be >= 0, got {self.noise}")
        self.T = np.eye(self.M) if self.T is None else np.array(self.T, dtype=np.float64)
        if self.T.shape != (self.M, self.M) or not np.allclose(self.T, self.T.T):
            raise ValueError(f"T must be a symmetric {self.M}x{self.M} matrix")
        if np.linalg.eigvalsh(self.T).min() <= 0:
            raise ValueError("T must be positive definite")
        self.T = np.ascontiguousarray(self.T)
        self._is_student = np.arange(self.K + self.M) < self.K
        self._codes = unit_codes(self.student, self.teacher, self.K, self.M)
        self._route = route_of(self.student, self.teacher)
        self._acts = kernel_activations(self.student, self.teacher)

    @property
    def convention(self):
        """``"full"`` (η² terms, time α) or ``"small_eta"`` (no η² terms, time ηα)."""
        return "full" if self.eta2 else "small_eta"

    @property
    def size(self):
        return state_size(self.K, self.M)

    def rate_function(self, time="convention"):
        """``f(y) -> dy/dt`` for ``time`` ``"convention"`` (α for ``full``, ηα for
        ``small_eta``) or ``"alpha"``; the compiled kernel with its arguments bound."""
        if self.eta2:
            eta, eta_sq = self.eta, self.eta**2
        else:
            eta, eta_sq = (1.0 if time == "convention" else self.eta), 0.0
        arguments = (self.K, self.M, self.T, eta, eta_sq, self.noise, eta * self.weight_decay,
                     self._codes, self._is_student, self._acts)
        route, size = self._route, self.size

        def rates(y):
            out = np.empty(size)
            _rates(route, np.ascontiguousarray(y, dtype=np.float64), *arguments, out)
            return out

        return rates

    def rates(self, y):
        """dy/dt in the convention's time unit (α for ``full``, ηα for ``small_eta``)."""
        return self.rate_function()(y)

    def generalisation_error(self, states):
        """``(eps_g, floor)`` for one state vector or an array of them (rows).

        Raw values: may fall below zero by up to ``floor``; see :func:`solve`
        for the clipped, flagged values written to tables.
        """
        Y = np.ascontiguousarray(np.atleast_2d(states), dtype=np.float64)
        eps = np.empty(Y.shape[0])
        floor = np.empty(Y.shape[0])
        _generalisation_errors(self._route, Y, self.K, self.M, self.T, self._codes,
                               self._is_student, self._acts, eps, floor)
        if np.ndim(states) == 1:
            return eps[0], floor[0]
        return eps, floor


@dataclass
class Trajectory:
    """Order parameters and ε_g at the recorded α values of one run."""

    alpha: np.ndarray
    R: np.ndarray  # (n, K, M)
    Q: np.ndarray  # (n, K, K)
    eps_g: np.ndarray  # clipped at the round-off floor
    eps_g_at_floor: np.ndarray  # True where eps_g is only an upper bound
    status: str  # "ok" or "diverged"
    alpha_reached: float
    n_rhs: int
    wall_seconds: float
    message: str = ""


SOLVERS = {
    "DOP853": scipy.integrate.DOP853,
    "RK45": scipy.integrate.RK45,
    "RK23": scipy.integrate.RK23,
    "Radau": scipy.integrate.Radau,
    "BDF": scipy.integrate.BDF,
    "LSODA": scipy.integrate.LSODA,
}


def initial_state(R0, Q0, K, M):
    """State vector from initial overlaps given as scalars (times identity) or matrices."""
    R0 = np.asarray(R0, dtype=np.float64)
    Q0 = np.asarray(Q0, dtype=np.float64)
    R = R0 * np.eye(K, M) if R0.ndim == 0 else R0
    Q = Q0 * np.eye(K) if Q0.ndim == 0 else Q0
    if R.shape != (K, M) or Q.shape != (K, K):
        raise ValueError(f"R must be {K}x{M} and Q {K}x{K}, got {R.shape} and {Q.shape}")
    if not np.allclose(Q, Q.T):
        raise ValueError("Q must be symmetric")
    return pack(R, Q)


def solve(model, R0, Q0, alphas, rtol=1e-10, atol=1e-12, method="DOP853", q_max=1e4,
          progress=None):
    r"""Integrate the ODEs from ``(R0, Q0)`` and record at the increasing ``alphas``.

    The right-hand side is :func:`_rates` (compiled); the integrator is one of
    scipy's ``solve_ivp`` methods (``SOLVERS``), stepped here so that a
    diverging run keeps what it computed.  Values at the requested α come from
    the method's dense output (for DOP853 a 7th-order interpolant, accurate to
    the tolerances).

    A run is ``diverged`` when some ``Q_ii`` exceeds ``q_max · max(1, max T_nn)``,
    a state turns non-finite, or the step size collapses; it ends there with
    ``alpha_reached`` the last α integrated and only the α values up to it
    recorded.  ``progress(alpha, n_rhs)``, if given, is called after every step.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or np.any(np.diff(alphas) <= 0) or alphas[0] < 0:
        raise ValueError("alphas must be a non-empty, strictly increasing list of values >= 0")
    K, M = model.K, model.M
    y0 = initial_state(R0, Q0, K, M)
    bound = q_max * max(1.0, float(np.max(np.diag(model.T))))
    diagonal = np.array([K * M + i * K - i * (i - 1) // 2 for i in range(K)])
    rates = model.rate_function(time="alpha")
    count = [0]

    def fun(t, y):
        count[0] += 1
        return rates(y)

    started = time.perf_counter()
    recorded = np.empty((alphas.size, y0.size))
    n_done = 0
    while n_done < alphas.size and alphas[n_done] == 0.0:
        recorded[n_done] = y0
        n_done += 1
    status, message, alpha_reached = "ok", "", 0.0
    if n_done < alphas.size:
        solver = SOLVERS[method](fun, 0.0, y0, alphas[-1], rtol=rtol, atol=atol)
        while n_done < alphas.size:
            message = solver.step() or ""
            if solver.status == "failed":  # step size collapsed
                status, alpha_reached = "diverged", solver.t
                break
            if not np.all(np.isfinite(solver.y)):
                status, alpha_reached = "diverged", solver.t_old
                message = "the state became non-finite"
                break
            alpha_reached = solver.t
            end = np.searchsorted(alphas, solver.t, side="right")
            if end > n_done:
                recorded[n_done:end] = solver.dense_output()(alphas[n_done:end]).T
                n_done = end
            if np.max(solver.y[diagonal]) > bound:
                status, message = "diverged", f"a diagonal Q_ii exceeded {bound:g}"
                break
            if progress is not None:
                progress(solver.t, count[0])
    recorded = recorded[:n_done]
    eps, floor = model.generalisation_error(recorded) if n_done else (np.empty(0), np.empty(0))
    # the integration resolves the state to about rtol·|y| + atol per entry, and
    # near the solution ε_g moves linearly with the state: that bounds it too
    floor = np.maximum(floor, rtol * np.abs(recorded).sum(axis=1) + atol * recorded.shape[1])
    at_floor = ~(eps > floor)
    R, Q = unpack(recorded, K, M)
    return Trajectory(
        alpha=alphas[:n_done], R=R, Q=Q, eps_g=np.where(at_floor, floor, eps),
        eps_g_at_floor=at_floor, status=status, alpha_reached=float(alpha_reached),
        n_rhs=count[0], wall_seconds=time.perf_counter() - started, message=message,
    )
