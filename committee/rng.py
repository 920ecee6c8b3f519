r"""Deterministic Gaussian random numbers for numba kernels: xoshiro256++ and a 256-layer ziggurat.

Bit generator
    xoshiro256++ (D. Blackman & S. Vigna, "Scrambled linear pseudorandom
    number generators", ACM Trans. Math. Softw. 47(4), 36, 2021; reference
    code at https://prng.di.unimi.it): 256 bits of state, period 2^256 − 1.
    Unlike xoshiro256+ it has no known weakness in its low bits, so the low
    bits of an output may index the ziggurat's layers.  The state is a
    ``np.uint64`` array of shape (4,) owned by the caller and advanced in
    place by every function below; there is no global state, so a run is
    reproducible across processes, platforms and thread counts.  Inside the
    functions the state travels as a tuple of four ``uint64`` (in registers)
    and is written back once per call.

Seeding and streams
    ``seed_state(seed)`` expands a 64-bit seed (taken modulo 2^64) into the
    four state words with SplitMix64 (G. Steele, D. Lea & C. Flood, "Fast
    splittable pseudorandom number generators", OOPSLA 2014), as the xoshiro
    authors recommend; four consecutive SplitMix64 outputs are distinct, so
    the state is never all zero.  ``seed_state(seed, stream)`` then jumps
    that state ahead by stream · 2^128 steps (0 ≤ stream < 2^64): the
    streams of one seed are consecutive, non-overlapping blocks of 2^128
    numbers of one sequence.  Give run k of a sweep ``seed_state(seed, k)``.
    (Different seeds start at unrelated points of the same cycle; an overlap
    between them is possible in principle but has probability of order
    (numbers used)² / 2^256.)  Seeds are int64, or np.uint64 for
    values ≥ 2^63 (numba types Python ints as int64).

    A jump by N steps replaces the state s by q(T) s, where T is the linear
    engine's transition matrix over GF(2) and q(x) = x^N mod p(x), p being
    T's characteristic polynomial (H. Haramoto et al., "Efficient jump ahead
    for F2-linear random number generators", INFORMS J. Comput. 20(3),
    2008).  p (degree 256, primitive) is found at import by Berlekamp–Massey
    on one state bit, and the 64 polynomials x^(2^(128+k)) mod p by repeated
    squaring; seeding applies at most 64 of them, 256 steps each.  The first
    one equals the published ``JUMP`` constant of xoshiro256, which
    :func:`jump` applies (both checked in ``tests/test_rng.py``).

Normals
    The ziggurat method (G. Marsaglia & W. W. Tsang, "The ziggurat method for
    generating random variables", J. Stat. Softw. 5(8), 2000) with 256
    layers of equal area v under f(x) = exp(−x²/2): base-layer edge
    r = 3.6541528853610088, v = 4.928673233974e-3, both solved at import by
    bisection (the paper gives the same r and v to 12 digits).  One 64-bit
    output gives the layer (bits 0–7), the sign (bit 8) and a 53-bit
    abscissa (bits 11–63):
    disjoint bits, which avoids the dependence between layer and abscissa
    of the original 32-bit code (J. A. Doornik, "An improved ziggurat method
    to generate normal random samples", 2005).  98.5 % of outputs are
    accepted by one comparison; the rest go through the exact wedge test (a
    second uniform and one exp) or, in the base layer, Marsaglia's (1964)
    exact method for the tail x > r (two logs per trial); a rejected wedge
    point restarts with a fresh output.  The method is exact: the output is
    N(0, 1) up to the 53-bit resolution of the abscissa.

Speed (``benchmarks/rng_speed.py``; AMD EPYC Zen 4 virtual machine, 2 cores,
measured while another job kept both cores busy; numba 0.68; best of 5):
``fill_standard_normal`` takes 2.5–3 ns per normal (350–400 million per
second) for N = 10^3 … 10^5, called from Python or from a compiled loop
(6 ns at N = 100 from Python, where the 0.3 µs call overhead shows);
``standard_normal`` once per draw in a compiled loop 7–10 ns; numpy's
``Generator(PCG64).standard_normal(out=...)`` 10–13 ns, numba's own
``np.random.standard_normal`` 32–38 ns.  ``seed_state`` takes 1 µs, up to
25 µs with a large stream index.  Compiling on an empty cache: 1–1.4 s
(``seed_state``) plus 0.8–1 s (``fill_standard_normal``); with the cache
filled, the first call in a process costs about 0.3 s (numba's start-up
and loading the cached code).

Determinism: integer arithmetic and the fast path (one product of an
integer and a table entry) are bit-exact everywhere; the wedge and tail
paths call the platform's libm ``exp`` and ``log``, whose last bit may
differ between platforms (that would change a wedge decision with
probability of order 1e-16 per draw).  The tables are computed with the
same libm (Python's ``math``), not with numpy's vectorised ``exp``.

Public functions (all ``@njit(cache=True)``, callable from Python and from
other kernels): :func:`seed_state`, :func:`jump`, :func:`next_uint64`,
:func:`uniform`, :func:`standard_normal`, :func:`fill_standard_normal`.
In hot loops call :func:`fill_standard_normal` on a preallocated buffer: it
keeps the state in registers and inlines the ziggurat's fast path.

Example::

    state = seed_state(2024, stream=run_index)
    xi = np.empty(N)
    for step in range(steps):
        fill_standard_normal(state, xi)   # in a kernel or from Python
"""
import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# constants (np.uint64, so that numba keeps the integer arithmetic unsigned)

_MASK64 = (1 << 64) - 1
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_LOW8 = np.uint64(0xFF)
_SHIFT8, _SHIFT11, _SHIFT17, _SHIFT23, _SHIFT27, _SHIFT30, _SHIFT31, _SHIFT45, _SHIFT64 = (
    np.uint64(k) for k in (8, 11, 17, 23, 27, 30, 31, 45, 64)
)
_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_MUL2 = np.uint64(0x94D049BB133111EB)
_TWO_TO_MINUS_53 = 2.0 ** -53

#: length of the state array
STATE_WORDS = 4


# ---------------------------------------------------------------------------
# jump polynomials (pure Python at import: the engine is linear over GF(2);
# a polynomial is an int whose bit j is the coefficient of x^j)

def _engine_step_python(s):
    """The xoshiro256 linear engine on four Python ints: the state
    transition of xoshiro256++ (its output scrambler is not needed here)."""
    s0, s1, s2, s3 = s
    t = (s1 << 17) & _MASK64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = ((s3 << 45) | (s3 >> 19)) & _MASK64
    return s0, s1, s2, s3


def _berlekamp_massey(bits):
    """Shortest linear recurrence of a GF(2) sequence: its connection
    polynomial C and length L, with Σ_{j=0..L} C_j · bits[n − j] = 0 for n ≥ L."""
    c, b, length, shift = 1, 1, 0, 1
    window = 0  # bit j holds bits[n - j]
    for n, bit in enumerate(bits):
        window = (window << 1) | bit
        if not (c & window).bit_count() & 1:
            shift += 1
        elif 2 * length <= n:
            c, b = c ^ (b << shift), c
            length, shift = n + 1 - length, 1
        else:
            c ^= b << shift
            shift += 1
    return c, length


def _characteristic_polynomial():
    """p(x) of degree 256 with p(T) = 0 for the engine's transition matrix T:
    the reciprocal of the connection polynomial of one state bit's sequence,
    which has full length 256 because p is irreducible."""
    s, bits = (1, 2, 3, 4), []
    for _ in range(2 * 256):
        bits.append(s[0] & 1)
        s = _engine_step_python(s)
    connection, length = _berlekamp_massey(bits)
    if length != 256:
        raise RuntimeError(f"xoshiro256 engine: recurrence of length {length}, expected 256")
    return int(format(connection, "0257b")[::-1], 2)


def _square_mod(a, p):
    """a(x)² mod p(x) over GF(2)."""
    square = int("0".join(format(a, "b")), 2)  # (Σ a_j x^j)² = Σ a_j x^(2j)
    degree = p.bit_length() - 1
    while square.bit_length() > degree:
        square ^= p << (square.bit_length() - 1 - degree)
    return square


def _jump_polynomials(p, first=128, count=64):
    """Row k (k < count): x^(2^(first + k)) mod p, the jump by 2^(first + k)
    steps, as four 64-bit words, low word first."""
    q = 2  # the polynomial x
    for _ in range(first):
        q = _square_mod(q, p)
    rows = []
    for _ in range(count):
        rows.append([(q >> (64 * w)) & _MASK64 for w in range(STATE_WORDS)])
        q = _square_mod(q, p)
    return np.array(rows, dtype=np.uint64)


#: characteristic polynomial of the xoshiro256 engine (bit j: coefficient of x^j)
CHARACTERISTIC_POLYNOMIAL = _characteristic_polynomial()
#: row k: the jump by 2^(128 + k) steps; row 0 is xoshiro256's published JUMP
JUMP_POLYNOMIALS = _jump_polynomials(CHARACTERISTIC_POLYNOMIAL)


# ---------------------------------------------------------------------------
# ziggurat tables (at import, with Python's math, i.e. the libm numba calls)

#: number of layers
ZIGGURAT_LAYERS = 256


def _gauss(x):
    """The unnormalised density f(x) = exp(−x²/2)."""
    return math.exp(-0.5 * x * x)


def _layer_edges(r, layers):
    """Edges x_0, x_1 = r, …, x_layers = 0 of layers of equal area
    v = r f(r) + ∫_r^∞ f, with v and the top layer's area minus v (−1 if the
    layers reach the mode too early, i.e. r is too small).

    Layer 0 is the strip [0, x_0] × [0, f(r)] with x_0 = v / f(r) (the part
    beyond r stands for the tail); layer i ≥ 1 is [0, x_i] × [f(x_i), f(x_{i+1})],
    so x_{i+1} = f⁻¹(f(x_i) + v / x_i)."""
    v = r * _gauss(r) + math.sqrt(0.5 * math.pi) * math.erfc(r / math.sqrt(2.0))
    edges = [v / _gauss(r), r]
    for i in range(1, layers - 1):
        height = _gauss(edges[i]) + v / edges[i]
        if height >= 1.0:
            return edges, v, -1.0
        edges.append(math.sqrt(-2.0 * math.log(height)))
    top_area = edges[-1] * (1.0 - _gauss(edges[-1]))
    return edges + [0.0], v, top_area - v


def _solve_base_edge(layers):
    """The base edge r for which the top layer also has area v (bisection to
    the last bit; the top layer's excess area grows with r)."""
    low, high = 2.0, 5.0
    while low < 0.5 * (low + high) < high:
        middle = 0.5 * (low + high)
        if _layer_edges(middle, layers)[2] > 0.0:
            high = middle
        else:
            low = middle
    return min((low, high), key=lambda r: abs(_layer_edges(r, layers)[2]))


#: base-layer edge r (the tail starts there) and the common layer area v
ZIGGURAT_R = _solve_base_edge(ZIGGURAT_LAYERS)
_edges, ZIGGURAT_V, _ = _layer_edges(ZIGGURAT_R, ZIGGURAT_LAYERS)
#: x_0 > x_1 = r > … > x_256 = 0
ZIGGURAT_EDGES = np.array(_edges)
#: f(x_i)
_DENSITY = np.array([_gauss(x) for x in _edges])
#: layer i: abscissa = m · _SCALE[i] for the 53-bit integer m
_SCALE = ZIGGURAT_EDGES[:-1] * _TWO_TO_MINUS_53
#: layer i: m < _CORE[i] means abscissa < x_{i+1}, inside the rectangle under f
_CORE = np.floor(ZIGGURAT_EDGES[1:] / ZIGGURAT_EDGES[:-1] * 2.0 ** 53).astype(np.uint64)
del _edges


# ---------------------------------------------------------------------------
# the generator on a tuple state s = (s0, s1, s2, s3)

@njit(cache=True)
def _rotl(x, k):
    """x rotated left by k bits (64-bit words)."""
    return (x << k) | (x >> (_SHIFT64 - k))


@njit(cache=True)
def _step(s):
    """One xoshiro256++ step: (64-bit output, next state)."""
    s0, s1, s2, s3 = s
    out = _rotl(s0 + s3, _SHIFT23) + s0
    t = s1 << _SHIFT17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _SHIFT45)
    return out, (s0, s1, s2, s3)


@njit(cache=True)
def _splitmix64(x):
    """One SplitMix64 step from counter x: (64-bit output, next counter)."""
    x = x + _SPLITMIX_GAMMA
    z = (x ^ (x >> _SHIFT30)) * _SPLITMIX_MUL1
    z = (z ^ (z >> _SHIFT27)) * _SPLITMIX_MUL2
    return z ^ (z >> _SHIFT31), x


@njit(cache=True)
def _apply_jump(s, polynomial):
    """q(T) s for the polynomial q given as four 64-bit words (bit b of word w
    is the coefficient of x^(64 w + b)): the XOR of T^j s over q's terms x^j."""
    a0, a1, a2, a3 = _ZERO, _ZERO, _ZERO, _ZERO
    for w in range(STATE_WORDS):
        word = polynomial[w]
        for b in range(64):
            if (word >> np.uint64(b)) & _ONE:
                a0 ^= s[0]
                a1 ^= s[1]
                a2 ^= s[2]
                a3 ^= s[3]
            _, s = _step(s)
    return (a0, a1, a2, a3)


@njit(cache=True)
def _uniform(s):
    """A uniform float64 in [0, 1): the 53 high bits of one output times 2^−53;
    (u, next state)."""
    out, s = _step(s)
    return np.int64(out >> _SHIFT11) * _TWO_TO_MINUS_53, s


@njit(cache=True)
def _candidate(out):
    """One output decoded for the ziggurat: layer i (bits 0–7), 53-bit integer
    m (bits 11–63) and the signed abscissa ±m x_i / 2^53 (minus if bit 8 is set)."""
    i = out & _LOW8
    m = out >> _SHIFT11
    x = np.int64(m) * _SCALE[i]
    return i, m, (-x if (out >> _SHIFT8) & _ONE else x)


@njit(cache=True)
def _tail(s):
    """A draw from f restricted to x > r (Marsaglia 1964): r + a with
    a = −ln(U₁) / r, accepted when −2 ln U₂ > a²; (x, next state)."""
    while True:
        u1, s = _uniform(s)
        u2, s = _uniform(s)
        a = -math.log(1.0 - u1) / ZIGGURAT_R
        b = -math.log(1.0 - u2)
        if b + b > a * a:
            return ZIGGURAT_R + a, s


@njit(cache=True)
def _in_wedge(i, x, y):
    """Whether the point (|x|, f(x_i) + y (f(x_{i+1}) − f(x_i))) of layer i ≥ 1
    lies under the density."""
    height = _DENSITY[i] + y * (_DENSITY[i + _ONE] - _DENSITY[i])
    return height < math.exp(-0.5 * x * x)


@njit(cache=True)
def _normal_rare(s, i, x):
    """Finish a draw whose candidate (layer i, signed abscissa x) lies outside
    its layer's core rectangle: the tail for layer 0, otherwise the wedge
    test, and after a rejection fresh candidates until one is accepted;
    (z, next state)."""
    while True:
        if i == _ZERO:
            t, s = _tail(s)
            return math.copysign(t, x), s
        y, s = _uniform(s)
        if _in_wedge(i, x, y):
            return x, s
        out, s = _step(s)
        i, m, x = _candidate(out)
        if m < _CORE[i]:
            return x, s


@njit(cache=True)
def _normal(s):
    """One standard normal draw; (z, next state).  The fast path (98.5 % of
    draws) is small enough to be inlined into callers; the rest is in
    :func:`_normal_rare`."""
    out, s = _step(s)
    i, m, x = _candidate(out)
    if m < _CORE[i]:
        return x, s
    return _normal_rare(s, i, x)


# ---------------------------------------------------------------------------
# public functions on the caller's state array

@njit(cache=True)
def _load(state):
    """The state array as a tuple; rejects a wrong length and the all-zero state."""
    if state.shape[0] != STATE_WORDS:
        raise ValueError("the state must be a uint64 array of shape (4,)")
    s = (state[0], state[1], state[2], state[3])
    if (s[0] | s[1] | s[2] | s[3]) == _ZERO:
        raise ValueError("the all-zero state is not a valid xoshiro256++ state")
    return s


@njit(cache=True)
def _store(state, s):
    """Write the tuple state back into the array."""
    state[0], state[1], state[2], state[3] = s


@njit(cache=True)
def seed_state(seed, stream=0):
    """A new state (np.uint64 array of shape (4,)) for the integer ``seed``
    (modulo 2^64): four SplitMix64 outputs, jumped ahead by ``stream`` · 2^128
    steps (0 ≤ stream < 2^64)."""
    if stream < 0:
        raise ValueError("stream must be non-negative")
    x = np.uint64(seed)
    s0, x = _splitmix64(x)
    s1, x = _splitmix64(x)
    s2, x = _splitmix64(x)
    s3, x = _splitmix64(x)
    s = (s0, s1, s2, s3)
    k = np.uint64(stream)
    for row in range(64):
        if (k >> np.uint64(row)) & _ONE:
            s = _apply_jump(s, JUMP_POLYNOMIALS[row])
    state = np.empty(STATE_WORDS, dtype=np.uint64)
    _store(state, s)
    return state


@njit(cache=True)
def jump(state):
    """Advance ``state`` in place by 2^128 steps (xoshiro256's jump)."""
    _store(state, _apply_jump(_load(state), JUMP_POLYNOMIALS[0]))


@njit(cache=True)
def next_uint64(state):
    """The next 64-bit output (np.uint64); advances ``state`` in place."""
    out, s = _step(_load(state))
    _store(state, s)
    return out


@njit(cache=True)
def uniform(state):
    """A uniform float64 in [0, 1) with 53 random bits (the high bits of one
    output); advances ``state`` in place."""
    u, s = _uniform(_load(state))
    _store(state, s)
    return u


@njit(cache=True)
def standard_normal(state):
    """One N(0, 1) float64; advances ``state`` in place."""
    z, s = _normal(_load(state))
    _store(state, s)
    return z


@njit(cache=True)
def fill_standard_normal(state, out):
    """Fill the float64 1-D array ``out`` in place with N(0, 1) draws, the same
    numbers as ``len(out)`` calls of :func:`standard_normal`; advances ``state``.
    Allocates nothing."""
    s = _load(state)
    for n in range(out.shape[0]):
        z, s = _normal(s)
        out[n] = z
    _store(state, s)


# ---------------------------------------------------------------------------
# the same draws on a state held in registers: compiled loops that draw many
# numbers load the state once (a tuple), draw, and store it back once

#: ``s = load(state)``: the state array as a tuple (validated)
load = _load
#: ``store(state, s)``: write a tuple state back into the array
store = _store
#: ``z, s = normal(s)``: one N(0, 1) draw, exactly as :func:`standard_normal`
normal = _normal
#: ``u, s = uniform01(s)``: one uniform in [0, 1), exactly as :func:`uniform`
uniform01 = _uniform
