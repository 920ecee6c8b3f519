"""On-line learning dynamics of soft committee machines (teacher–student setting).

Modules, in reading order: :mod:`~committee.activations` (the registry),
:mod:`~committee.orthant` and :mod:`~committee.mixtures` (the mathematics
behind the closed forms), :mod:`~committee.integrals` (Gaussian averages),
:mod:`~committee.state` (state vector), :mod:`~committee.ode` (the N → ∞
equations and their integration), :mod:`~committee.fixed_points` (plateau
analysis).

Compiled kernels are cached on disk by numba.  numba keys a cached kernel on
its own source file only, although kernels inline code and freeze constant
tables from other modules; the cache therefore lives in a directory named
after a fingerprint of the whole package source (and the numba version):
``$NUMBA_CACHE_DIR`` or ``~/.cache/committee/numba``, then the fingerprint.
"""
import hashlib
import os
import pathlib

import numba


def _source_fingerprint():
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _configure_numba_cache():
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "committee", "numba"
    )
    numba.config.CACHE_DIR = os.path.join(base, _source_fingerprint())


_configure_numba_cache()
