r"""Activation functions g and their derivatives g', one registry entry each.

Student and teacher choose their activation independently by name.  Each entry
holds two numba functions of signature ``float64(float64)`` (``g`` and ``dg``)
and a *family* that tells :mod:`committee.integrals` how to average it:

``LINEAR``, ``RELU``
    closed-form Gaussian averages;
``ERF``
    ``a + b·erf(x / (√2 s))`` with a fixed scale ``s`` (erf) or a scale drawn
    from a Kolmogorov scale mixture (tanh, sigmoid; :mod:`committee.mixtures`):
    closed forms, averaged over the scale by a spectrally convergent rule;
``QUADRATURE``
    user-registered activations: Gauss–Hermite quadrature in whitened
    coordinates whenever such a unit takes part in an average.

Built-in entries:

=========  ===================================  ==========================================
name       g(x)                                 g'(x)
=========  ===================================  ==========================================
linear     x                                    1
erf        erf(x / √2)                          √(2/π) exp(−x²/2)
relu       max(x, 0)                            Θ(x)  (Θ(0) = 0)
tanh       tanh(x) = E_V erf(x/(√2 V))          1 − tanh²(x)
sigmoid    1 / (1 + e^{−x}) = ½ + ½ tanh(x/2)   g(x) (1 − g(x))
=========  ===================================  ==========================================

A user adds an activation with :func:`register`; it is averaged by quadrature.

Inside compiled kernels an activation pair travels as ``acts``: the integer
codes ``(student_code, teacher_code)`` when both are built in (so the kernels
are cached on disk and called from Python without overhead), or the functions
``(g, dg, h, dh)`` when one is user-registered (compiled once per process).
:func:`evaluate` hides the difference.
"""
import math
from dataclasses import dataclass

import numpy as np
from numba import njit, types
from numba.core.registry import CPUDispatcher
from numba.extending import overload

LINEAR, ERF, RELU, QUADRATURE = 0, 1, 2, 3
FAMILY_NAMES = {LINEAR: "linear", ERF: "erf", RELU: "relu", QUADRATURE: "quadrature"}

#: codes of the built-in activations inside compiled kernels
LINEAR_CODE, ERF_CODE, RELU_CODE, TANH_CODE, SIGMOID_CODE = 0, 1, 2, 3, 4
USER_CODE = -1

#: per built-in code: family, and for the ERF family g = OFFSET + AMPLITUDE·erf(x/(√2 s)),
#: s = SCALE (MIXTURE false) or s = SCALE·V with V Kolmogorov-distributed (MIXTURE true)
FAMILY_OF_CODE = np.array([LINEAR, ERF, RELU, ERF, ERF], dtype=np.int64)
ERF_OFFSET = np.array([0.0, 0.0, 0.0, 0.0, 0.5])
ERF_AMPLITUDE = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
ERF_SCALE = np.array([0.0, 1.0, 0.0, 1.0, 2.0])
ERF_MIXTURE = np.array([False, False, False, True, True])

#: numba signature of every g and g'
SCALAR_SIGNATURE = types.float64(types.float64)

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@njit(SCALAR_SIGNATURE, cache=True)
def linear(x):
    return x


@njit(SCALAR_SIGNATURE, cache=True)
def linear_prime(x):
    return 1.0


@njit(SCALAR_SIGNATURE, cache=True)
def erf(x):
    return math.erf(x * _SQRT_HALF)


@njit(SCALAR_SIGNATURE, cache=True)
def erf_prime(x):
    return _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)


@njit(SCALAR_SIGNATURE, cache=True)
def relu(x):
    return x if x > 0.0 else 0.0


@njit(SCALAR_SIGNATURE, cache=True)
def relu_prime(x):
    return 1.0 if x > 0.0 else 0.0


@njit(SCALAR_SIGNATURE, cache=True)
def tanh(x):
    return math.tanh(x)


@njit(SCALAR_SIGNATURE, cache=True)
def tanh_prime(x):
    t = math.tanh(x)
    return 1.0 - t * t


@njit(SCALAR_SIGNATURE, cache=True)
def sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(SCALAR_SIGNATURE, cache=True)
def sigmoid_prime(x):
    s = sigmoid(x)
    return s * (1.0 - s)


@njit(cache=True)
def builtin_value(code, x):
    """g(x) of the built-in activation ``code``."""
    if code == ERF_CODE:
        return erf(x)
    if code == RELU_CODE:
        return relu(x)
    if code == TANH_CODE:
        return tanh(x)
    if code == SIGMOID_CODE:
        return sigmoid(x)
    return x


@njit(cache=True)
def builtin_derivative(code, x):
    """g'(x) of the built-in activation ``code``."""
    if code == ERF_CODE:
        return erf_prime(x)
    if code == RELU_CODE:
        return relu_prime(x)
    if code == TANH_CODE:
        return tanh_prime(x)
    if code == SIGMOID_CODE:
        return sigmoid_prime(x)
    return 1.0


def evaluate(acts, is_student, derivative, x):
    """g(x) or g'(x) of the student's (``is_student``) or teacher's activation."""
    raise NotImplementedError("only callable from compiled code")


@overload(evaluate)
def _evaluate(acts, is_student, derivative, x):
    if isinstance(acts, types.UniTuple) and isinstance(acts.dtype, types.Integer):

        def by_code(acts, is_student, derivative, x):
            code = acts[0] if is_student else acts[1]
            return builtin_derivative(code, x) if derivative else builtin_value(code, x)

        return by_code

    def by_function(acts, is_student, derivative, x):
        if is_student:
            return acts[1](x) if derivative else acts[0](x)
        return acts[3](x) if derivative else acts[2](x)

    return by_function


@dataclass(frozen=True)
class Activation:
    """A registry entry: ``g``, its derivative ``dg``, the averaging family and
    the built-in code (``USER_CODE`` for registered ones)."""

    name: str
    g: CPUDispatcher
    dg: CPUDispatcher
    family: int
    code: int = USER_CODE
    formula: str = ""


REGISTRY: dict[str, Activation] = {}


def _add(activation):
    REGISTRY[activation.name] = activation
    return activation


_add(Activation("linear", linear, linear_prime, LINEAR, LINEAR_CODE, "g(x) = x"))
_add(Activation("erf", erf, erf_prime, ERF, ERF_CODE, "g(x) = erf(x/sqrt(2))"))
_add(Activation("relu", relu, relu_prime, RELU, RELU_CODE, "g(x) = max(x, 0)"))
_add(Activation("tanh", tanh, tanh_prime, ERF, TANH_CODE, "g(x) = tanh(x)"))
_add(Activation("sigmoid", sigmoid, sigmoid_prime, ERF, SIGMOID_CODE, "g(x) = 1/(1+exp(-x))"))


def _compiled(function):
    """``function`` as a numba dispatcher with the signature ``float64(float64)``."""
    if isinstance(function, CPUDispatcher):
        function = function.py_func
    return njit(SCALAR_SIGNATURE, cache=False)(function)


def register(name, g, dg, formula=""):
    """Add a user activation, averaged by Gauss–Hermite quadrature.

    ``g`` and ``dg`` are Python functions of one float that numba can compile
    (``math`` functions, arithmetic), or numba dispatchers.  Registering an
    existing name is an error: results must not depend on registration order.
    """
    if name in REGISTRY:
        raise ValueError(f"activation {name!r} is already registered")
    if not name.isidentifier():
        raise ValueError(f"activation name {name!r} must be letters, digits and underscores")
    return _add(Activation(name, _compiled(g), _compiled(dg), QUADRATURE, USER_CODE, formula))


def get(name):
    """The registry entry called ``name``; the error lists the registered names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown activation {name!r}; registered: {', '.join(sorted(REGISTRY))}"
        ) from None


def kernel_activations(student_name, teacher_name):
    """The ``acts`` argument of the compiled kernels for a student–teacher pair."""
    student, teacher = get(student_name), get(teacher_name)
    if student.code != USER_CODE and teacher.code != USER_CODE:
        return (student.code, teacher.code)
    return (student.g, student.dg, teacher.g, teacher.dg)
