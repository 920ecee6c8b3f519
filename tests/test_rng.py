"""committee.rng: xoshiro256++ against an independent pure-Python implementation,
the jump polynomials against the published constant and the algebra, and the
ziggurat's normals against the exact distribution on 10^7 draws.

Every statistical check is a z-score (or a p-value) with a fixed seed: a z-score
must lie within ``Z = 5`` standard errors, so a correct generator fails a given
check with probability below 6e-7; goodness-of-fit tests need p > 1e-3.
"""
import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from committee import rng

MASK64 = (1 << 64) - 1
Z = 5.0
P_MIN = 1e-3
N_BIG = 10_000_000

# published reference outputs: SplitMix64 seeded with 1234567 (Rosetta Code,
# "Pseudo-random numbers/Splitmix64") and xoshiro256++ from the state
# (1, 2, 3, 4) (reference C code, as in rand_xoshiro's test)
SPLITMIX64_1234567 = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                      4593380528125082431, 16408922859458223821]
XOSHIRO256PP_1234 = [41943041, 58720359, 3588806011781223, 3591011842654386,
                     9228616714210784205, 9973669472204895162, 14011001112246962877,
                     12406186145184390807, 15849039046786891736, 10450023813501588000]
# xoshiro256's jump by 2^128 (Blackman & Vigna's reference code)
PUBLISHED_JUMP = [0x180EC6D33CFD0ABA, 0xD5A61266F0C9392C, 0xA9582618E03FC9AA, 0x39ABDC4529B1661C]
# Marsaglia & Tsang (2000), 256 layers (v given to 12 significant digits)
MT_R, MT_V = 3.6541528853610088, 4.92867323399e-3
# the prime factors of 2^256 - 1 = F0 F1 ... F7 (Fermat numbers; F5, F6, F7 factored)
PRIMES_OF_2_256_MINUS_1 = [3, 5, 17, 257, 65537, 641, 6700417, 274177, 67280421310721,
                           59649589127497217, 5704689200685129054721]


# ---------------------------------------------------------------------------
# independent pure-Python implementation (Python ints, masked to 64 bits)

def py_splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31), x


def py_rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


def py_xoshiro(s):
    s0, s1, s2, s3 = s
    out = (py_rotl((s0 + s3) & MASK64, 23) + s0) & MASK64
    t = (s1 << 17) & MASK64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = py_rotl(s3, 45)
    return out, (s0, s1, s2, s3)


def py_seed(seed):
    x, words = seed & MASK64, []
    for _ in range(4):
        word, x = py_splitmix64(x)
        words.append(word)
    return tuple(words)


def py_normal(s):
    """The 256-layer ziggurat written from Marsaglia & Tsang (2000) in plain
    Python: bits 0-7 layer, bit 8 sign, bits 11-63 abscissa; uses only the
    layer edges of the module (checked in test_ziggurat_tables)."""
    edges = rng.ZIGGURAT_EDGES
    r = edges[1]
    while True:
        out, s = py_xoshiro(s)
        i, negative, m = out & 0xFF, (out >> 8) & 1, out >> 11
        x = m * (edges[i] * 2.0 ** -53)
        sign = -1.0 if negative else 1.0
        if m < math.floor(edges[i + 1] / edges[i] * 2.0 ** 53):
            return sign * x, s
        if i == 0:
            while True:
                u1, s = py_xoshiro(s)
                u2, s = py_xoshiro(s)
                a = -math.log(1.0 - (u1 >> 11) * 2.0 ** -53) / r
                b = -math.log(1.0 - (u2 >> 11) * 2.0 ** -53)
                if b + b > a * a:
                    return sign * (r + a), s
        u, s = py_xoshiro(s)
        f_low, f_high = math.exp(-0.5 * edges[i] ** 2), math.exp(-0.5 * edges[i + 1] ** 2)
        if f_low + (u >> 11) * 2.0 ** -53 * (f_high - f_low) < math.exp(-0.5 * x * x):
            return sign * x, s


def gf2_square_mod(a, p):
    square = int("".join("0" + bit for bit in format(a, "b")), 2)
    degree = p.bit_length() - 1
    for j in range(square.bit_length() - 1, degree - 1, -1):
        if (square >> j) & 1:
            square ^= p << (j - degree)
    return square


def gf2_x_power_mod(exponent, p):
    """x^exponent mod p over GF(2), by square and multiply."""
    degree, result = p.bit_length() - 1, 1
    for bit in format(exponent, "b"):
        result = gf2_square_mod(result, p)
        if bit == "1":
            result <<= 1
            if (result >> degree) & 1:
                result ^= p
    return result


def as_words(polynomial):
    return np.array([(polynomial >> (64 * w)) & MASK64 for w in range(4)], dtype=np.uint64)


def as_tuple(state):
    return tuple(np.uint64(int(word)) for word in state)


def state_of(words):
    return np.array(words, dtype=np.uint64)


# ---------------------------------------------------------------------------
# bit generator and seeding

def test_python_reference_reproduces_published_outputs():
    x, outputs = 1234567, []
    for _ in range(5):
        out, x = py_splitmix64(x)
        outputs.append(out)
    assert outputs == SPLITMIX64_1234567
    s, outputs = (1, 2, 3, 4), []
    for _ in range(10):
        out, s = py_xoshiro(s)
        outputs.append(out)
    assert outputs == XOSHIRO256PP_1234


def test_next_uint64_matches_published_outputs():
    state = state_of([1, 2, 3, 4])
    assert [int(rng.next_uint64(state)) for _ in range(10)] == XOSHIRO256PP_1234


@pytest.mark.parametrize("seed", [0, 1, 20240601, -7, np.uint64(2**63 + 12345)])
def test_seed_state_and_outputs_match_python_reference(seed):
    state = rng.seed_state(seed)
    assert state.dtype == np.uint64 and state.shape == (4,)
    s = py_seed(int(seed))
    assert [int(w) for w in state] == list(s)
    for _ in range(1000):
        out, s = py_xoshiro(s)
        assert int(rng.next_uint64(state)) == out
    assert [int(w) for w in state] == list(s)


def test_negative_seed_wraps_modulo_2_64():
    assert np.array_equal(rng.seed_state(-1), rng.seed_state(np.uint64(2**64 - 1)))


def test_uniform_is_53_high_bits():
    state = rng.seed_state(99)
    twin = state.copy()
    values = np.array([rng.uniform(state) for _ in range(100_000)])
    expected = [(int(rng.next_uint64(twin)) >> 11) * 2.0 ** -53 for _ in range(100_000)]
    assert np.array_equal(values, expected)
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < Z * math.sqrt(1 / 12 / values.size)


def test_invalid_states_are_rejected():
    with pytest.raises(ValueError):
        rng.next_uint64(np.zeros(4, dtype=np.uint64))
    with pytest.raises(ValueError):
        rng.fill_standard_normal(np.ones(2, dtype=np.uint64), np.empty(3))
    with pytest.raises(ValueError):
        rng.seed_state(1, -1)


# ---------------------------------------------------------------------------
# jumps and streams

def test_characteristic_polynomial_is_primitive():
    """x has order 2^256 - 1 modulo p: p is primitive, the period is 2^256 - 1."""
    p = rng.CHARACTERISTIC_POLYNOMIAL
    order = 2**256 - 1
    assert p.bit_length() == 257 and math.prod(PRIMES_OF_2_256_MINUS_1) == order
    assert gf2_x_power_mod(order, p) == 1
    for q in PRIMES_OF_2_256_MINUS_1:
        assert gf2_x_power_mod(order // q, p) != 1


def test_jump_polynomials_match_published_constant_and_algebra():
    p = rng.CHARACTERISTIC_POLYNOMIAL
    assert [int(w) for w in rng.JUMP_POLYNOMIALS[0]] == PUBLISHED_JUMP
    for k in (0, 1, 17, 63):
        assert np.array_equal(rng.JUMP_POLYNOMIALS[k], as_words(gf2_x_power_mod(2 ** (128 + k), p)))


@pytest.mark.parametrize("steps", [1, 255, 256, 1000, 4097])
def test_jump_polynomial_equals_stepping(steps):
    """q = x^steps mod p applied to a state equals that many steps (p(T) = 0)."""
    state = rng.seed_state(5)
    polynomial = as_words(gf2_x_power_mod(steps, rng.CHARACTERISTIC_POLYNOMIAL))
    jumped = rng._apply_jump(as_tuple(state), polynomial)
    s = tuple(int(w) for w in state)
    for _ in range(steps):
        _, s = py_xoshiro(s)
    assert [int(w) for w in jumped] == list(s)


def test_streams_are_consecutive_jumps():
    state = rng.seed_state(42)
    for stream in range(1, 6):
        rng.jump(state)
        assert np.array_equal(rng.seed_state(42, stream), state)
    # a large stream index: 2^40 + 3 jumps as the table's rows 40, 1 and 0
    expected = rng.seed_state(42)
    for row in (0, 1, 40):
        expected = state_of(rng._apply_jump(as_tuple(expected), rng.JUMP_POLYNOMIALS[row]))
    assert np.array_equal(rng.seed_state(42, 2**40 + 3), expected)


def test_streams_and_seeds_are_uncorrelated():
    n = 1_000_000
    draws = {}
    for key in [(3, 0), (3, 1), (3, 2), (4, 0)]:
        draws[key] = np.empty(n)
        rng.fill_standard_normal(rng.seed_state(*key), draws[key])
    keys = list(draws)
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            r = np.corrcoef(draws[keys[a]], draws[keys[b]])[0, 1]
            assert abs(r) * math.sqrt(n) < Z, (keys[a], keys[b], r)
        x = draws[keys[a]]
        lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
        assert abs(lag1) * math.sqrt(n) < Z, (keys[a], lag1)


# ---------------------------------------------------------------------------
# determinism

def test_same_seed_same_numbers_and_different_streams_differ():
    first, second = np.empty(10_000), np.empty(10_000)
    rng.fill_standard_normal(rng.seed_state(2024), first)
    rng.fill_standard_normal(rng.seed_state(2024), second)
    assert np.array_equal(first, second)
    for seed, stream in [(2025, 0), (2024, 1), (2023, 0)]:
        other = np.empty(10_000)
        rng.fill_standard_normal(rng.seed_state(seed, stream), other)
        assert np.count_nonzero(other == first) == 0


def test_standard_normal_equals_fill_and_chunks():
    n = 200_000
    state = rng.seed_state(77)
    single = np.array([rng.standard_normal(state) for _ in range(n)])
    filled_state = rng.seed_state(77)
    filled = np.empty(n)
    rng.fill_standard_normal(filled_state, filled)
    assert np.array_equal(single, filled)
    assert np.array_equal(state, filled_state)
    assert np.count_nonzero(np.abs(filled) > rng.ZIGGURAT_R) > 10  # the tail path ran
    chunked_state, chunks = rng.seed_state(77), []
    for size in (0, 1, 999, 150_000, n - 151_000):
        chunk = np.empty(size)
        rng.fill_standard_normal(chunked_state, chunk)
        chunks.append(chunk)
    assert np.array_equal(np.concatenate(chunks), filled)


def test_fill_matches_python_ziggurat():
    n = 30_000
    state = rng.seed_state(31337)
    s = tuple(int(w) for w in state)
    out = np.empty(n)
    rng.fill_standard_normal(state, out)
    expected = []
    for _ in range(n):
        z, s = py_normal(s)
        expected.append(z)
    assert np.array_equal(out, expected)
    assert [int(w) for w in state] == list(s)


# ---------------------------------------------------------------------------
# the ziggurat and its normals

def test_ziggurat_tables():
    x, v = rng.ZIGGURAT_EDGES, rng.ZIGGURAT_V
    f = np.exp(-0.5 * x * x)
    assert x.shape == (rng.ZIGGURAT_LAYERS + 1,) and x[1] == rng.ZIGGURAT_R and x[-1] == 0.0
    assert np.all(np.diff(x) < 0.0)
    assert abs(rng.ZIGGURAT_R - MT_R) < 1e-14 and abs(v - MT_V) < 1e-13
    tail = math.sqrt(math.pi / 2) * math.erfc(x[1] / math.sqrt(2))
    assert math.isclose(x[1] * f[1] + tail, v, rel_tol=1e-14)
    assert math.isclose(x[0] * f[1], v, rel_tol=1e-14)
    areas = x[1:-1] * (f[2:] - f[1:-1])  # layers 1 ... 255
    np.testing.assert_allclose(areas, v, rtol=1e-11)


@pytest.fixture(scope="module")
def big_sample():
    x = np.empty(N_BIG)
    rng.fill_standard_normal(rng.seed_state(20240229), x)
    return np.sort(x)


def test_moments(big_sample):
    x, n = big_sample, big_sample.size
    mean = x.mean()
    centred = x - mean
    m2 = np.mean(centred ** 2)
    skewness = np.mean(centred ** 3) / m2 ** 1.5
    excess_kurtosis = np.mean(centred ** 4) / m2 ** 2 - 3.0
    z_scores = {
        "mean": mean / math.sqrt(1 / n),
        "variance": (x.var(ddof=1) - 1.0) / math.sqrt(2 / (n - 1)),
        "skewness": skewness / math.sqrt(6 / n),
        "excess kurtosis": excess_kurtosis / math.sqrt(24 / n),
    }
    for name, z in z_scores.items():
        assert abs(z) < Z, (name, z)


@pytest.mark.parametrize("threshold,two_sided", [(3.0, True), (4.0, True), (5.0, False)])
def test_tail_probabilities(big_sample, threshold, two_sided):
    x, n = big_sample, big_sample.size
    if two_sided:
        count = n - np.searchsorted(x, threshold, "right") + np.searchsorted(x, -threshold, "left")
        p = special.erfc(threshold / math.sqrt(2))
    else:
        count = n - np.searchsorted(x, threshold, "right")
        p = special.ndtr(-threshold)
    z = (count - n * p) / math.sqrt(n * p * (1 - p))
    assert abs(z) < Z, (threshold, count, n * p, z)


def test_kolmogorov_smirnov(big_sample):
    assert stats.kstest(big_sample, "norm").pvalue > P_MIN


def test_chi_square_on_ziggurat_layers(big_sample):
    """Bins: every layer's x-range [x_{i+1}, x_i] (i = 1 ... 255) split in
    four, on both sides, and the two tails beyond r; this probes each wedge."""
    x, n = big_sample, big_sample.size
    edges = rng.ZIGGURAT_EDGES[1:]  # r = x_1 > ... > x_256 = 0
    quarters = [np.linspace(a, b, 5)[:-1] for a, b in zip(edges[:-1], edges[1:])]
    positive = np.concatenate(quarters + [[0.0]])  # r ... 0, decreasing
    cuts = np.concatenate([-positive, positive[::-1][1:]])  # -r ... 0 ... r, increasing
    counts = np.diff(np.concatenate([[0], np.searchsorted(x, cuts), [n]]))
    probabilities = np.diff(np.concatenate([[0.0], special.ndtr(cuts), [1.0]]))
    assert counts.size == 2 * 4 * 255 + 2 and n * probabilities.min() > 100
    expected = n * probabilities / probabilities.sum()
    assert stats.chisquare(counts, expected).pvalue > P_MIN


def test_tail_beyond_base_layer(big_sample):
    """Fraction beyond ±r and the shape of the tail given |z| > r."""
    x, n, r = big_sample, big_sample.size, rng.ZIGGURAT_R
    tail = np.abs(np.concatenate([x[: np.searchsorted(x, -r)], x[np.searchsorted(x, r, "right"):]]))
    p = special.erfc(r / math.sqrt(2))
    assert abs(tail.size - n * p) < Z * math.sqrt(n * p * (1 - p))
    q_r = special.ndtr(-r)
    assert stats.kstest(tail, lambda t: 1.0 - special.ndtr(-t) / q_r).pvalue > P_MIN


@njit
def _tail_draws(state, n):
    s = (state[0], state[1], state[2], state[3])
    out = np.empty(n)
    for k in range(n):
        out[k], s = rng._tail(s)
    return out


def test_tail_sampler_directly():
    """10^6 draws of the tail algorithm alone: the conditional law given z > r,
    also far out (z > 5: about 2200 expected, z > 6: about 8)."""
    n, r = 1_000_000, rng.ZIGGURAT_R
    t = _tail_draws(rng.seed_state(8), n)
    assert t.min() > r
    q_r = special.ndtr(-r)
    assert stats.kstest(t, lambda u: 1.0 - special.ndtr(-u) / q_r).pvalue > P_MIN
    for threshold in (4.5, 5.0, 6.0):
        p = special.ndtr(-threshold) / q_r
        count = np.count_nonzero(t > threshold)
        assert abs(count - n * p) < Z * math.sqrt(n * p * (1 - p)), (threshold, count, n * p)
