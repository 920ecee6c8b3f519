"""Plateau detection on known curves, the smoothing of simulation curves, and
the relabelling of students before seeds are averaged."""
import numpy as np
import pandas as pd

from committee.plateau import detect, smooth
from committee.plots import students_aligned

ALPHA = np.linspace(0.0, 100.0, 1001)


def plateau_curve(alpha):
    """A fast initial decay onto a plateau at 0.1 that is left around α = 50."""
    return 0.4 * np.exp(-alpha) + 0.1 / (1.0 + np.exp((alpha - 50.0) / 2.0))


def test_a_plateau_with_known_height_and_escape():
    found = detect(ALPHA, plateau_curve(ALPHA))
    assert found["has_plateau"]
    assert abs(found["eps_plateau"] - 0.1) < 1e-3
    # slope of the initial decay ≈ −0.4; the plateau's own slope reaches 4e-4
    # (1e-3 of it) near α = ln(1000) ≈ 6.9 and stays below until the escape
    assert 6.0 < found["alpha_enter"] < 8.0
    # ε_g < 0.05 for the first time just after α = 50
    assert 50.0 <= found["alpha_escape"] <= 50.2
    assert found["plateau_length"] == found["alpha_escape"] - found["alpha_enter"]


def test_no_plateau_without_an_escape_on_the_grid():
    found = detect(ALPHA, 0.4 * np.exp(-ALPHA) + 0.1)
    assert not found["has_plateau"] and np.isnan(found["plateau_length"])


def test_a_plain_exponential_decay_needs_min_height_to_be_rejected():
    decay = 0.25 * np.exp(-0.2 * ALPHA)
    assert detect(ALPHA, decay)["has_plateau"]  # the documented caveat of the definition
    assert not detect(ALPHA, decay, min_height=0.01)["has_plateau"]
    assert detect(ALPHA, plateau_curve(ALPHA), min_height=0.01)["has_plateau"]


def test_smoothing_steadies_a_noisy_plateau():
    """3 % multiplicative noise: on the raw curves the slope test fires at
    random points of the plateau; on the smoothed curves the lengths stay
    within a few grid steps (0.5) of the clean curve's."""
    alpha = np.linspace(0.0, 100.0, 201)
    clean = detect(alpha, plateau_curve(alpha))["plateau_length"]
    raw, smoothed = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        noisy = plateau_curve(alpha) * (1.0 + 0.03 * rng.standard_normal(alpha.size))
        raw.append(detect(alpha, noisy)["plateau_length"])
        found = detect(alpha, smooth(noisy, 9))
        assert found["has_plateau"] and abs(found["eps_plateau"] - 0.1) < 3e-3
        smoothed.append(found["plateau_length"])
    assert np.nanmax(np.abs(np.array(raw) - clean)) > 10.0
    assert np.max(np.abs(np.array(smoothed) - clean)) <= 4.0
    assert np.nanstd(raw) > 2 * np.std(smoothed)


def test_moving_average():
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    smoothed = smooth(values, 3)
    assert smoothed[0] == 1.0 and smoothed[-1] == 32.0  # ends stay
    assert np.allclose(smoothed[1:-1], [7 / 3, 14 / 3, 28 / 3, 56 / 3])
    assert np.allclose(smooth(values, 5)[2], (1 + 2 + 4 + 8 + 16) / 5)
    assert np.array_equal(smooth(values, 1), values)


def test_students_are_aligned_to_the_teacher_they_learned():
    """Seed b specialised with students swapped: relabelled, it matches seed a."""
    rows = []
    for run_id, R, Q in [("a", [[0.9, 0.1], [0.2, 0.8]], [[1.0, 0.3], [0.3, 0.7]]),
                         ("b", [[0.2, 0.8], [0.9, 0.1]], [[0.7, 0.3], [0.3, 1.0]])]:
        for name, matrix in (("R", R), ("Q", Q)):
            for i in range(2):
                for j in range(2):
                    rows.append((run_id, 1.0, name, i + 1, j + 1, matrix[i][j]))
    table = pd.DataFrame(rows, columns=["run_id", "alpha", "name", "i", "j", "value"])
    aligned = students_aligned(table, {"a", "b"})
    a = aligned[aligned.run_id == "a"].set_index(["name", "i", "j"]).value.sort_index()
    b = aligned[aligned.run_id == "b"].set_index(["name", "i", "j"]).value.sort_index()
    assert np.array_equal(a.to_numpy(), b.to_numpy())
    untouched = students_aligned(table, {"a"})
    assert untouched[untouched.run_id == "b"].equals(table[table.run_id == "b"])
