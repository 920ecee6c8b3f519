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
after a fingerprint of the source of every module that compiles kernels (and
of the numba version): ``$NUMBA_CACHE_DIR`` or ``~/.cache/committee/numba``,
then the fingerprint.
"""
import hashlib
import os
import pathlib

import numba

#: part of every run's identity: bump it when a change alters numerical results
__version__ = "0.1.0"


def _source_fingerprint():
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        source = path.read_bytes()
        if b"njit" in source:
            digest.update(path.name.encode())
            digest.update(source)
    return digest.hexdigest()[:16]


def _configure_numba_cache():
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "committee", "numba"
    )
    numba.config.CACHE_DIR = os.path.join(base, _source_fingerprint())


_configure_numba_cache()
