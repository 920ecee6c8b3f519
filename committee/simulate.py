r"""Finite-N on-line SGD: a weight-space simulator and an exact order-parameter chain.

Both simulate the scenario of a :class:`committee.ode.Model` (activations,
K, M, η, output noise, weight decay) for a finite input dimension N and
record ``R``, ``Q`` and ``T`` at the requested α (= steps / N); ε_g comes from
the order parameters through the closed forms of :mod:`committee.integrals`
(no test set).  One SGD step with input ξ ~ N(0, I_N) is

.. math::

    x_i = J_i\cdot\xi,\ y_n = B_n\cdot\xi,\quad
    \delta_i = \Big(\sum_n h(y_n) + \zeta - \sum_k g(x_k)\Big) g'(x_i),\quad
    J_i \leftarrow d\,J_i + \frac{\eta}{N}\,\delta_i\,\xi,

with ``ζ ~ N(0, noise)`` and ``d = 1 − ηγ/N`` (weight decay γ).

Initial conditions
------------------
``("overlaps", R0, Q0)``: weights whose Gram matrix ``G = [[Q0, R0], [R0^T, T]]``
is exactly the requested one (needs N ≥ K + M; a matrix that is not positive
semidefinite is refused).  ``("random", q)``: students ``J_i ~ N(0, (q/N) I)``
and teachers ``B_n ~ N(0, I/N)``, so ``T = I + O(1/√N)``.  Both simulators
start from a Gram matrix drawn exactly from that distribution — the Wishart
distribution with N degrees of freedom, by Bartlett's decomposition: with
``Σ = diag(q/N, …, 1/N, …)``, ``G = Σ^{1/2} A A^T Σ^{1/2}`` where ``A`` is
lower trapezoidal with ``A_jj² ~ χ²_{N−j}`` and standard normal entries below
the diagonal.  Since ξ is isotropic, the law of the whole trajectory of order
parameters depends on the weights only through G.

Full simulator
--------------
Rotating input space so that the teachers span the first M axes (``B = [L_T, 0]``
with ``T = L_T L_T^T``) and the students start in the first K + M, the teacher
fields cost M² operations.  A step draws the next input (N normals, the
ziggurat of :mod:`committee.rng`) and makes one pass over the K·N student
weights that applies this step's update and accumulates the next input's
fields and the norms (2KN multiply-adds).  The reductions are
vectorised (``fastmath`` reassociation): results are bit-identical from run to
run on one machine, not across CPUs with other vector widths.

Exact reduced simulator
-----------------------
ξ is isotropic, so the Gram matrix G of the rows of ``W = [J; B]`` is itself a
Markov chain.  Given G (rank r), ``h = W ξ ~ N(0, G)``; with ``P`` the
projector onto the row space of W, ``|ξ|² = |Pξ|² + |(1 − P)ξ|²``, the two
parts independent, ``|(1 − P)ξ|² ~ χ²_{N−r}`` and ``|Pξ|² = h^T G^+ h``.
Writing ``h = F z`` with ``F F^T = G``, F of full column rank r and
``z ~ N(0, I_r)``, ``h^T G^+ h = |z|²``.  The step is then exact:

.. math::

    R_{in} &\leftarrow d R_{in} + \tfrac{\eta}{N} \delta_i y_n, \\
    Q_{ik} &\leftarrow d^2 Q_{ik} + d \tfrac{\eta}{N}(\delta_i x_k + \delta_k x_i)
        + \big(\tfrac{\eta}{N}\big)^2 \delta_i \delta_k \big(|z|^2 + \chi^2_{N-r}\big),

at a cost of O((K + M)³) whatever N is.  F comes from a Cholesky
factorisation with diagonal pivoting; a pivot below ``1e-12`` times the
largest diagonal entry counts as zero: that direction carries no variance,
so r drops by one and χ² gains a degree of freedom.  This keeps the chain
exact when learning makes G (nearly) singular.  χ² is sampled as twice a
Gamma(ν/2) variate (Marsaglia & Tsang 2000, exact).

ε_g and its floor: ε_g near zero is a difference of O(1) terms (see
:mod:`committee.ode`), and the order parameters of a simulation carry the
round-off of every step.  Taking those as independent, the error after n
steps grows like √n; an ε_g below ``√(1 + n)`` times the closed form's
round-off floor is reported at that floor and flagged (``eps_g_at_floor``).

Divergence: a diagonal ``Q_ii`` above ``q_max · max(1, max T_nn)`` or a
non-finite value ends the run with status ``diverged`` and the α reached.
"""
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from .activations import evaluate, kernel_activations
from .ode import Model
from .rng import fill_standard_normal, load, normal, seed_state, standard_normal, store, uniform01

PIVOT_TOLERANCE = 1e-12
PROGRESS_SECONDS = 10.0
#: steps per compiled call between progress reports and records
CHUNK_STEPS = 200_000

OK, DIVERGED = 0, 1


# ------------------------------------------------------------------ random variates
@njit(cache=True)
def gamma_variate(s, shape):
    """Gamma(shape, 1) by Marsaglia & Tsang (2000) on a register state ``s``
    (:mod:`committee.rng`); shape < 1 by the boost ``Gamma(a) = Gamma(a + 1) U^{1/a}``;
    0 for shape 0.  Returns (value, next state)."""
    if shape <= 0.0:
        return 0.0, s
    boost = 1.0
    if shape < 1.0:
        u, s = uniform01(s)
        boost = u ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x, s = normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s = uniform01(s)
        if u < 1.0 - 0.0331 * x**4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return boost * d * v, s


@njit(cache=True)
def chi_square(state, dof):
    """χ² with ``dof`` (>= 0, real) degrees of freedom, from the state array."""
    s = load(state)
    value, s = gamma_variate(s, 0.5 * dof)
    store(state, s)
    return 2.0 * value


@njit(cache=True)
def wishart_gram(state, scales, N):
    """Gram matrix of vectors ``w_a ~ N(0, scales[a]² I_N)`` (Bartlett decomposition)."""
    L = scales.shape[0]
    A = np.zeros((L, L))
    for j in range(L):
        for i in range(j, L):
            if j >= N:
                break
            if i == j:
                A[j, j] = math.sqrt(chi_square(state, N - j))
            else:
                A[i, j] = standard_normal(state)
    G = A @ A.T
    for a in range(L):
        for b in range(L):
            G[a, b] *= scales[a] * scales[b]
    return G


# ------------------------------------------------------------------ factorisation
@njit(cache=True)
def psd_factor(G, F, work, tolerance):
    """Cholesky factorisation with diagonal pivoting of the positive-semidefinite
    ``G`` (L × L): fills ``F[:, :r]`` with ``F F^T = G`` and returns the rank r.

    Left-looking: column k takes as pivot p the row with the largest remaining
    Schur-complement diagonal ``d_p`` and sets ``F[a, k] = (G[a, p] −
    Σ_{m<k} F[a, m] F[p, m]) / √d_p`` for the rows not yet pivoted (zero for
    the others).  It stops when every remaining ``d_a`` is at most
    ``tolerance · max diag G``: by positive semidefiniteness the neglected
    Schur complement is then that small in every entry.  ``work`` is 2 × L
    scratch space (remaining diagonal, pivoted flags)."""
    L = G.shape[0]
    remaining = work[0]
    pivoted = work[1]
    largest = 0.0
    for a in range(L):
        remaining[a] = G[a, a]
        pivoted[a] = 0.0
        largest = max(largest, G[a, a])
    threshold = tolerance * largest
    rank = 0
    for k in range(L):
        pivot = -1
        best = threshold
        for a in range(L):
            if pivoted[a] == 0.0 and remaining[a] > best:
                best = remaining[a]
                pivot = a
        if pivot < 0:
            break
        pivoted[pivot] = 1.0
        root = math.sqrt(best)
        inverse = 1.0 / root
        for a in range(L):
            if pivoted[a] != 0.0:
                F[a, k] = 0.0
                continue
            total = G[a, pivot]
            for m in range(k):
                total -= F[a, m] * F[pivot, m]
            F[a, k] = total * inverse
            remaining[a] -= F[a, k] * F[a, k]
        F[pivot, k] = root
        rank += 1
    for k in range(rank, L):
        for a in range(L):
            F[a, k] = 0.0
    return rank


def exact_weights(G, K, M):
    """Student weights ``J`` (K × (M+K)) and the teachers' Cholesky factor ``L_T``
    (M × M) such that ``J`` and ``B = [L_T, 0]`` have Gram matrix ``G`` (order:
    students, teachers): ``J = [R L_T^{-T}, F]`` with ``F F^T = Q − R T^{-1} R^T``.
    :class:`ValueError` if G is not positive semidefinite."""
    G = np.asarray(G, dtype=np.float64)
    scale = max(1.0, float(np.abs(G).max()))
    smallest = float(np.linalg.eigvalsh(G).min())
    if smallest < -1e-12 * scale:
        raise ValueError(f"the initial Gram matrix [[Q, R], [R^T, T]] is not positive "
                         f"semidefinite (smallest eigenvalue {smallest:.3g}); no weights "
                         f"have these overlaps")
    L_T = np.linalg.cholesky(G[K:, K:])
    along_teachers = np.linalg.solve(L_T, G[:K, K:].T).T
    residual = np.ascontiguousarray(G[:K, :K] - along_teachers @ along_teachers.T)
    F = np.zeros((K, K))
    psd_factor(residual, F, np.empty((2, K)), PIVOT_TOLERANCE)
    return np.concatenate([along_teachers, F], axis=1), L_T


# ------------------------------------------------------------------ kernels
@njit(cache=True)
def _errors(x, y, acts, noise_sd, s, K, M, delta):
    """δ_i = (τ − σ) g'(x_i), output noise drawn from the register state ``s``;
    (all finite, next state)."""
    residual = 0.0
    for n in range(M):
        residual += evaluate(acts, False, False, y[n])
    for k in range(K):
        residual -= evaluate(acts, True, False, x[k])
    if noise_sd > 0.0:
        zeta, s = normal(s)
        residual += noise_sd * zeta
    for i in range(K):
        delta[i] = residual * evaluate(acts, True, True, x[i])
    return math.isfinite(residual), s


@njit(cache=True, fastmath={"reassoc", "contract"})
def _full_steps(J, L_T, xi, xi_next, x, norms, steps, state, rate, decay, noise_sd, bound,
                acts):
    """``steps`` SGD steps in weight space (students are the rows of ``J``, K × N).
    ``xi`` and ``x = J ξ`` hold the next input on entry and exit; ``xi_next`` is
    scratch.  Each step draws the following input, then makes one pass over
    the weights that applies this step's update and accumulates the next
    fields and the norms.  Returns the number of steps done (fewer on divergence)."""
    K, N = J.shape
    M = L_T.shape[0]
    y = np.empty(M)
    delta = np.empty(K)
    current, following = xi, xi_next
    done = steps
    for step in range(steps):
        for n in range(M):
            total = 0.0
            for m in range(n + 1):
                total += L_T[n, m] * current[m]
            y[n] = total
        s = load(state)
        finite, s = _errors(x, y, acts, noise_sd, s, K, M, delta)
        store(state, s)
        if not finite:
            done = step
            break
        fill_standard_normal(state, following)
        for i in range(K):
            c = rate * delta[i]
            row = J[i]
            field = 0.0
            norm = 0.0
            for j in range(N):
                w = decay * row[j] + c * current[j]
                row[j] = w
                field += w * following[j]
                norm += w * w
            x[i] = field
            norms[i] = norm
        current, following = following, current
        if not np.all(norms <= bound):  # also catches NaN
            done = step + 1
            break
    if done % 2 == 1:  # the next input is in the scratch buffer
        xi[:] = xi_next
    return done


@njit(cache=True)
def _reduced_steps(G, steps, state, N, K, rate, decay, noise_sd, bound, acts):
    """``steps`` steps of the exact order-parameter chain on G (students first).
    Returns the number of steps done (fewer on divergence)."""
    L = G.shape[0]
    M = L - K
    F = np.empty((L, L))
    work = np.empty((2, L))
    z = np.empty(L)
    h = np.empty(L)
    delta = np.empty(K)
    s = load(state)
    for step in range(steps):
        rank = psd_factor(G, F, work, PIVOT_TOLERANCE)
        squared = 0.0
        for a in range(rank):
            z[a], s = normal(s)
            squared += z[a] * z[a]
        for a in range(L):
            total = 0.0
            for b in range(rank):
                total += F[a, b] * z[b]
            h[a] = total
        chi, s = gamma_variate(s, 0.5 * (N - rank))
        xi_squared = squared + 2.0 * chi
        x = h[:K]
        y = h[K:]
        finite, s = _errors(x, y, acts, noise_sd, s, K, M, delta)
        if not finite:
            store(state, s)
            return step
        for i in range(K):
            for n in range(M):
                value = decay * G[i, K + n] + rate * delta[i] * y[n]
                G[i, K + n] = value
                G[K + n, i] = value
            for k in range(i, K):
                value = (decay * decay * G[i, k]
                         + decay * rate * (delta[i] * x[k] + delta[k] * x[i])
                         + rate * rate * delta[i] * delta[k] * xi_squared)
                G[i, k] = value
                G[k, i] = value
        for i in range(K):
            if not G[i, i] <= bound:
                store(state, s)
                return step + 1
    store(state, s)
    return steps


# ------------------------------------------------------------------ drivers
@dataclass
class Simulation:
    """Order parameters and ε_g at the recorded α of one simulation run.

    ``alpha`` are the exact times steps/N of the records (the requested α
    rounded to whole steps, duplicates dropped)."""

    alpha: np.ndarray
    R: np.ndarray  # (n, K, M)
    Q: np.ndarray  # (n, K, K)
    T: np.ndarray  # (M, M), fixed
    eps_g: np.ndarray
    eps_g_at_floor: np.ndarray
    status: str
    alpha_reached: float
    steps: int
    wall_seconds: float


def record_steps(alphas, N):
    """Whole steps nearest to α·N, increasing, without duplicates."""
    steps = np.rint(np.asarray(alphas, dtype=np.float64) * N).astype(np.int64)
    return np.unique(steps)


def initial_gram(model, init, N, state):
    """The starting Gram matrix (students first) of ``init`` (see module docstring)."""
    K, M = model.K, model.M
    if init[0] == "random":
        scales = np.r_[np.full(K, math.sqrt(init[1] / N)), np.full(M, math.sqrt(1.0 / N))]
        return wishart_gram(state, scales, N)
    R0, Q0 = np.asarray(init[1], dtype=np.float64), np.asarray(init[2], dtype=np.float64)
    if N < K + M:
        raise ValueError(f"exact initial overlaps need N >= K + M = {K + M}, got N = {N}")
    return np.block([[Q0, R0], [R0.T, model.T]])


def _finish(model, records, alpha, steps_at, T, status, reached, steps, started):
    K, M = model.K, model.M
    gram = np.array(records).reshape(-1, K + M, K + M)
    R, Q = gram[:, :K, K:], gram[:, :K, :K]
    measured = Model(K=K, M=M, eta=model.eta, student=model.student, teacher=model.teacher,
                     T=T, noise=model.noise, weight_decay=model.weight_decay)
    rows, cols = np.triu_indices(K)
    states = np.concatenate([R.reshape(len(gram), -1), Q[:, rows, cols]], axis=1)
    eps, floor = measured.generalisation_error(states) if len(gram) else (np.empty(0),) * 2
    floor = floor * np.sqrt(1.0 + np.asarray(steps_at, dtype=np.float64))
    at_floor = ~(eps > floor)
    return Simulation(alpha=np.asarray(alpha), R=R, Q=Q, T=T, eps_g=np.where(at_floor, floor, eps),
                      eps_g_at_floor=at_floor, status=status, alpha_reached=reached,
                      steps=steps, wall_seconds=time.perf_counter() - started)


def _drive(model, N, alphas, advance, gram_now, q_max, T, log):
    """Common loop: advance to each record step in chunks, log progress, stop on divergence."""
    started = time.perf_counter()
    targets = record_steps(alphas, N)
    bound = q_max * max(1.0, float(np.max(np.diag(T))))
    records, recorded_steps = [], []
    done, status, last_log = 0, "ok", started
    for target in targets:
        while done < target:
            chunk = min(CHUNK_STEPS, target - done)
            advanced = advance(chunk, bound)
            done += advanced
            if advanced < chunk:
                status = "diverged"
                break
            now = time.perf_counter()
            if log is not None and now - last_log > PROGRESS_SECONDS:
                last_log = now
                log(f"  alpha {done / N:.4g} of {targets[-1] / N:.4g}, "
                    f"{done / (now - started):.3g} steps/s")
        if status == "diverged":
            break
        records.append(gram_now())
        recorded_steps.append(target)
    return _finish(model, records, np.array(recorded_steps) / N, recorded_steps, T, status,
                   done / N, done, started)


def _rates(model, N):
    rate = model.eta / N
    decay = 1.0 - model.eta * model.weight_decay / N
    return rate, decay, math.sqrt(model.noise)


def simulate_full(model, N, alphas, seed, init, q_max=1e4, log=None):
    """Weight-space SGD at input dimension N (see the module docstring)."""
    K, M = model.K, model.M
    state = seed_state(seed)
    G = initial_gram(model, init, N, state)
    J_small, L_T = exact_weights(G, K, M)
    T = L_T @ L_T.T
    J = np.zeros((K, N))
    J[:, :K + M] = J_small
    xi = np.empty(N)
    fill_standard_normal(state, xi)
    x = J @ xi
    norms = np.einsum("ij,ij->i", J, J)
    rate, decay, noise_sd = _rates(model, N)
    acts = kernel_activations(model.student, model.teacher)

    xi_next = np.empty(N)

    def advance(steps, bound):
        return _full_steps(J, L_T, xi, xi_next, x, norms, steps, state, rate, decay,
                           noise_sd, bound, acts)

    def gram_now():
        W = np.zeros((K + M, K + M))
        W[:K, :K] = J @ J.T
        W[:K, K:] = J[:, :M] @ L_T.T
        W[K:, :K] = W[:K, K:].T
        W[K:, K:] = T
        return W

    return _drive(model, N, alphas, advance, gram_now, q_max, T, log)


def simulate_reduced(model, N, alphas, seed, init, q_max=1e4, log=None):
    """The exact order-parameter chain at input dimension N (see the module docstring)."""
    K, M = model.K, model.M
    state = seed_state(seed)
    G = np.ascontiguousarray(initial_gram(model, init, N, state))
    exact_weights(G, K, M)  # refuses a Gram matrix that no weights have
    T = G[K:, K:].copy()
    rate, decay, noise_sd = _rates(model, N)
    acts = kernel_activations(model.student, model.teacher)

    def advance(steps, bound):
        return _reduced_steps(G, steps, state, N, K, rate, decay, noise_sd, bound, acts)

    return _drive(model, N, alphas, advance, G.copy, q_max, T, log)
