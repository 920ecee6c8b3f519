"""The order-parameter state vector and the covariance of the pre-activations.

State order (fixed, documented, used by every table and eigenvector):
``R`` row-major ``(R11, R12, …, R1M, R21, …, RKM)``, then the upper triangle
of ``Q`` row-major ``(Q11, Q12, …, Q1K, Q22, …, QKK)``; length
``K·M + K(K+1)/2``.  ``T`` is fixed and not part of the state.
"""
import numpy as np
from numba import njit


def state_size(K, M):
    """Length of the state vector: K·M + K(K+1)/2."""
    return K * M + K * (K + 1) // 2


def state_labels(K, M):
    """Names of the state entries in order, e.g. ``R12`` or ``Q22`` (1-based)."""
    labels = [f"R{i}{n}" for i in range(1, K + 1) for n in range(1, M + 1)]
    labels += [f"Q{i}{k}" for i in range(1, K + 1) for k in range(i, K + 1)]
    return labels


def pack(R, Q):
    """State vector from ``R`` (K×M) and symmetric ``Q`` (K×K)."""
    R = np.asarray(R, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    K = Q.shape[0]
    return np.concatenate([R.ravel(), Q[np.triu_indices(K)]])


def unpack(y, K, M):
    """``(R, Q)`` from a state vector, or from an array of them (last axis)."""
    y = np.asarray(y, dtype=np.float64)
    R = y[..., : K * M].reshape(y.shape[:-1] + (K, M))
    Q = np.zeros(y.shape[:-1] + (K, K))
    rows, cols = np.triu_indices(K)
    Q[..., rows, cols] = y[..., K * M :]
    Q[..., cols, rows] = y[..., K * M :]
    return R, Q


@njit(cache=True)
def covariance(y, K, M, T):
    """Covariance ``[[Q, R], [R^T, T]]`` of ``(x_1..x_K, y_1..y_M)`` from a state vector."""
    L = K + M
    C = np.empty((L, L))
    for i in range(K):
        for n in range(M):
            C[i, K + n] = y[i * M + n]
            C[K + n, i] = y[i * M + n]
    p = K * M
    for i in range(K):
        for k in range(i, K):
            C[i, k] = y[p]
            C[k, i] = y[p]
            p += 1
    for n in range(M):
        for m in range(M):
            C[K + n, K + m] = T[n, m]
    return C
