"""Plateau detection on a recorded ε_g(α) curve.

Default definition (all fractions configurable; derivatives by second-order
finite differences on the recorded, possibly non-uniform, α grid):

1. ``s0 = dε_g/dα`` at the first recorded α (α = 0 on the usual grids);
2. ``α_enter``: the first α with ``|dε_g/dα| < slope_fraction · |s0|``;
3. ``α_drop``: the first later α with ``ε_g < drop_fraction · ε_g(α_enter)``;
4. ``ε_plateau``: ε_g where ``|dε_g/dα|`` is smallest on ``[α_enter, α_drop]``;
5. ``α_escape``: the first α after that point with ``ε_g < escape_fraction · ε_plateau``;
6. ``plateau_length = α_escape − α_enter``;
7. optionally (``min_height`` > 0, off by default): a plateau lower than
   ``min_height · ε_g(α_0)`` is not one.  Any decaying curve meets steps 1–6
   once it has decayed far enough (step 2 compares with the initial slope);
   on noisy simulation curves such spurious "plateaus" deep in the
   converged tail are common, so the workflow sets ``min_height`` for them.

A curve without such a stretch (no α_enter, α_drop or α_escape on the grid)
has ``has_plateau = False`` and NaN for the numbers.  Note that a curve that
decays without any plateau but far enough (a perceptron, say) also meets the
definition, with a "plateau" of about ln 2 over its decay rate: read lengths
together with ε_plateau.  The grid must resolve the curve: a plateau entered
and left between two recorded α values is not seen.

Simulation curves are noisy: the derivative test of step 2 would see the
noise.  For a simulation run the definition is applied to its ε_g smoothed
by :func:`smooth` (a centred moving average over ``smoothing`` recorded
points; the ``curve`` column of the plateaus table says ``smoothed``), with
``min_height`` set (``simulation_min_height`` in the configuration).  A seed
whose plateau is drowned in noise (small N) gets ``has_plateau = False``.
The mean over seeds is not used: seeds escape at different times, so the
mean curve has no flat stretch at small N.
"""
import numpy as np


def detect(alpha, eps_g, slope_fraction=1e-3, drop_fraction=0.5, escape_fraction=0.5,
           min_height=0.0):
    """Dict with ``has_plateau``, ``eps_plateau``, ``alpha_enter``,
    ``alpha_escape`` and ``plateau_length`` for one curve."""
    none = {"has_plateau": False, "eps_plateau": np.nan, "alpha_enter": np.nan,
            "alpha_escape": np.nan, "plateau_length": np.nan}
    alpha = np.asarray(alpha, dtype=np.float64)
    eps_g = np.asarray(eps_g, dtype=np.float64)
    if alpha.size < 3 or not np.all(np.isfinite(eps_g)):
        return none
    slope = np.abs(np.gradient(eps_g, alpha, edge_order=2))
    flat = np.nonzero(slope < slope_fraction * slope[0])[0]
    if flat.size == 0:
        return none
    enter = flat[0]
    dropped = np.nonzero(eps_g[enter:] < drop_fraction * eps_g[enter])[0]
    if dropped.size == 0:
        return none
    drop = enter + dropped[0]
    flattest = enter + int(np.argmin(slope[enter:drop + 1]))
    eps_plateau = eps_g[flattest]
    if eps_plateau < min_height * eps_g[0]:
        return none
    escaped = np.nonzero(eps_g[flattest:] < escape_fraction * eps_plateau)[0]
    if escaped.size == 0:
        return none
    escape = flattest + escaped[0]
    return {"has_plateau": True, "eps_plateau": float(eps_plateau),
            "alpha_enter": float(alpha[enter]), "alpha_escape": float(alpha[escape]),
            "plateau_length": float(alpha[escape] - alpha[enter])}


def smooth(values, points):
    """Centred moving average over ``points`` (odd) recorded values; the window
    shrinks symmetrically near the ends, so the first and last values stay."""
    values = np.asarray(values, dtype=np.float64)
    half = points // 2
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    width = np.minimum(half, np.minimum(index, values.size - 1 - index))
    return (cumulative[index + width + 1] - cumulative[index - width]) / (2 * width + 1)
