"""Monte Carlo references for Gaussian averages, written independently of the package."""
import numpy as np
from scipy.special import erf

ACTIVATIONS = {
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
    "erf": (lambda x: erf(x / np.sqrt(2.0)), lambda x: np.sqrt(2.0 / np.pi) * np.exp(-0.5 * x * x)),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "tanh": (np.tanh, lambda x: 1.0 / np.cosh(x) ** 2),
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), lambda x: 0.25 / np.cosh(0.5 * x) ** 2),
}


def gaussian_samples(cov, n, seed):
    """``n`` samples of N(0, cov); works for singular ``cov`` (eigen-decomposition)."""
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((n, cov.shape[0]))
    return z @ root.T


def mc_average(samples, factors, n_student, student, teacher, activations=ACTIVATIONS):
    """Mean and standard error of Π factor over the samples (rows)."""
    product = np.ones(samples.shape[0])
    for unit, kind in factors:
        x = samples[:, unit]
        g, dg = activations[student if unit < n_student else teacher]
        product *= {"value": g, "deriv": dg, "identity": lambda v: v}[kind](x)
    return product.mean(), product.std() / np.sqrt(product.size)


def random_covariance(rng, size, degenerate=0.0):
    """A random covariance of order-parameter scale; with ``degenerate > 0`` unit 0
    (a student) nearly coincides with unit ``size - 1`` (a teacher), as after learning."""
    vectors = rng.normal(size=(size, size + 2)) / np.sqrt(size + 2)
    if degenerate:
        vectors[0] = vectors[-1] + degenerate * rng.normal(size=size + 2)
    return vectors @ vectors.T
