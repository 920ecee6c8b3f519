"""A sweep configuration: validation, the grid of runs it describes, and batches of them.

The configuration format is documented key by key in ``config/README.md`` and
formally in ``config/schema.yaml``.  :func:`validate` checks a configuration
against that schema and then makes the checks a schema cannot (matrix shapes,
positive-definite T, positive-semidefinite initial Gram matrices, known
activations, increasing α lists); every problem is reported with the
experiment, the key and what is allowed, before any job runs.

:func:`expand` turns a valid configuration into :class:`RunSpec` objects: per
experiment, the Cartesian product of the activation pairs, K, M and η, with one
ODE run per point (if ``ode`` is given) and, per N and seed, one simulation run
(if ``simulate`` is given).  Each run has a stable ``run_id``: a hash of all
parameters that determine its result, so that a grid that grows keeps the ids
(and the results) of the points it already had.
"""
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

import jsonschema
import numpy as np

from . import __version__, activations

METHODS = ("ode", "full", "reduced")


class ConfigError(ValueError):
    """A configuration that cannot be run; the message says where and why."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's result (plus its experiment's name)."""

    experiment: str
    method: str  # "ode", "full" or "reduced"
    student: str
    teacher: str
    K: int
    M: int
    eta: float
    eta2: bool | None  # ODE runs only
    N: int | None  # simulation runs only
    seed: int | None  # simulation runs only
    noise: float
    weight_decay: float
    T: tuple  # M x M, nested tuples
    init: tuple  # ("overlaps", R, Q) with nested tuples, or ("random", q)
    alphas: tuple
    solver: tuple = field(default=())  # ODE solver options as sorted (key, value) pairs
    version: str = __version__  # of the package that computes the run

    @property
    def run_id(self):
        """16 hex digits of the SHA-256 of the canonical JSON of all fields
        (the package version included: new numerics, new ids)."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def T_matrix(self):
        return np.array(self.T, dtype=np.float64)

    def initial_overlaps(self):
        """``(R0, Q0)`` of an ODE run: the given overlaps, or for a random
        initialisation their N → ∞ values R = 0, Q = q·I."""
        if self.init[0] == "random":
            return np.zeros((self.K, self.M)), self.init[1] * np.eye(self.K)
        return np.array(self.init[1], dtype=np.float64), np.array(self.init[2], dtype=np.float64)


# ------------------------------------------------------------------ validation
def _location(experiment, path):
    where = f"experiment {experiment!r}" if experiment else "configuration"
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return f"{where}, key {key!r}" if key else where


def _schema_message(error):
    path = list(error.absolute_path)
    experiment = path[1] if len(path) > 1 and path[0] == "experiments" else None
    inner = path[2:] if experiment else path
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        unknown = sorted(set(error.instance) - set(schema.get("properties", {})))
        return (f"{_location(experiment, inner)}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed keys: {allowed}")
    if error.validator == "enum":
        return (f"{_location(experiment, inner)}: {error.instance!r} is not allowed; "
                f"allowed values: {', '.join(map(repr, schema['enum']))}")
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=",
                    "exclusiveMaximum": "<"}[error.validator]
        return (f"{_location(experiment, inner)}: {error.instance!r} is not allowed; "
                f"must be {relation} {error.validator_value}")
    if error.validator == "type":
        return (f"{_location(experiment, inner)}: {error.instance!r} has the wrong type; "
                f"expected {error.validator_value}")
    if error.validator == "required":
        return f"{_location(experiment, inner)}: {error.message}"
    if error.validator == "pattern" or error.validator == "propertyNames":
        return (f"{_location(experiment, inner)}: experiment names may contain letters, "
                f"digits and underscores only ({error.instance!r})")
    if error.validator == "oneOf":
        described = schema.get("description") or _describe_choices(schema["oneOf"])
        return f"{_location(experiment, inner)}: {error.instance!r} is not allowed; expected {described}"
    return f"{_location(experiment, inner)}: {error.message}"


def _describe_choices(choices):
    names = []
    for choice in choices:
        if "const" in choice:
            names.append(repr(choice["const"]))
        elif "$ref" in choice:
            names.append(choice["$ref"].rsplit("/", 1)[-1].replace("_", " "))
        elif choice.get("type") == "object":
            names.append("a mapping with keys " + ", ".join(choice.get("properties", {})))
        else:
            names.append(f"a {choice.get('type', 'value')}")
    return " or ".join(names)


def _fill_defaults(instance, schema, root):
    """Insert the schema's defaults into ``instance`` (in place)."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    if isinstance(instance, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = json.loads(json.dumps(sub["default"]))
            if key in instance:
                _fill_defaults(instance[key], sub, root)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(instance) - set(schema.get("properties", {})):
                _fill_defaults(instance[key], extra, root)
    for choice in schema.get("oneOf", []):
        if _matches(instance, choice, root):
            _fill_defaults(instance, choice, root)


def _matches(instance, schema, root):
    validator = jsonschema.Draft202012Validator({**schema, "$defs": root.get("$defs", {})})
    return validator.is_valid(instance)


def validate(config, schema):
    """Check ``config`` (a dict, modified in place: defaults filled in) against
    ``schema`` and the semantic rules; raise :class:`ConfigError` listing every
    problem found."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [_schema_message(error) for error in errors]
    broken = {error.absolute_path[1] for error in errors
              if len(error.absolute_path) > 1 and error.absolute_path[0] == "experiments"}
    if not any(len(error.absolute_path) < 2 for error in errors):
        # the top level is sound: check the experiments the schema accepted
        _fill_defaults(config, schema, schema)
        for name, experiment in config["experiments"].items():
            if name not in broken:
                problems += _semantic_problems(name, experiment)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _matrix_problems(name, key, value, shape, kind):
    """Problems of a matrix-valued key: shape, symmetry and definiteness."""
    matrix = np.array(value, dtype=np.float64)
    where = _location(name, [key])
    if matrix.ndim != 2 or any(len(row) != len(value[0]) for row in value):
        return [f"{where}: must be a rectangular matrix"]
    if matrix.shape != shape:
        return [f"{where}: must be {shape[0]}x{shape[1]}, got {matrix.shape[0]}x{matrix.shape[1]}"]
    problems = []
    if kind in ("positive definite", "positive semidefinite"):
        if not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12):
            problems.append(f"{where}: must be symmetric")
        else:
            smallest = np.linalg.eigvalsh(matrix).min()
            scale = max(1.0, np.abs(matrix).max())
            if kind == "positive definite" and smallest <= 1e-12 * scale:
                problems.append(f"{where}: must be positive definite "
                                f"(smallest eigenvalue {smallest:.3g})")
            if kind == "positive semidefinite" and smallest < -1e-12 * scale:
                problems.append(f"{where}: must be positive semidefinite "
                                f"(smallest eigenvalue {smallest:.3g})")
    return problems


def _semantic_problems(name, experiment):
    problems = []
    for item in experiment["activation"]:
        for role, act in _pair(item).items():
            if act not in activations.REGISTRY:
                problems.append(
                    f"{_location(name, ['activation'])}: unknown {role} activation {act!r}; "
                    f"allowed: {', '.join(sorted(activations.REGISTRY))}")
    alpha = experiment["alpha"]
    if isinstance(alpha, list) and np.any(np.diff(alpha) <= 0):
        problems.append(f"{_location(name, ['alpha'])}: the alpha values must be strictly increasing")
    if isinstance(alpha, dict) and alpha.get("spacing") == "log" and alpha.get("min", 0) >= alpha["max"]:
        problems.append(f"{_location(name, ['alpha', 'min'])}: must be smaller than alpha.max")
    if experiment["T"] != "identity":
        for M in experiment["M"]:
            problems += _matrix_problems(name, "T", experiment["T"], (M, M), "positive definite")
    init = experiment["init"]
    if "R" in init and not problems:
        for K in experiment["K"]:
            for M in experiment["M"]:
                problems += _initial_gram_problems(name, init, K, M, experiment)
    if "simulate" in experiment and "R" in init:
        units = max(experiment["K"]) + max(experiment["M"])
        small = [N for N in experiment["simulate"]["N"] if N < units]
        if small:
            problems.append(
                f"{_location(name, ['simulate', 'N'])}: {small} is not allowed; exact initial "
                f"overlaps need N >= K + M = {units} (or use init: {{random: {{Q: ...}}}})")
    return list(dict.fromkeys(problems))


def _initial_gram_problems(name, init, K, M, experiment):
    """The initial [[Q, R], [R^T, T]] must be a Gram matrix (positive semidefinite)."""
    problems = []
    for key, shape in (("R", (K, M)), ("Q", (K, K))):
        if isinstance(init[key], list):
            problems += _matrix_problems(name, f"init.{key}", init[key], shape,
                                         "positive semidefinite" if key == "Q" else "any")
    if problems:
        return problems
    T = np.eye(M) if experiment["T"] == "identity" else np.array(experiment["T"], dtype=float)
    if T.shape != (M, M):
        return problems
    R, Q = _overlap_matrices(init["R"], init["Q"], K, M)
    gram = np.block([[Q, R], [R.T, T]])
    smallest = np.linalg.eigvalsh(gram).min()
    if smallest < -1e-12 * max(1.0, np.abs(gram).max()):
        problems.append(
            f"{_location(name, ['init'])}: the initial Gram matrix [[Q, R], [R^T, T]] for "
            f"K={K}, M={M} is not positive semidefinite (smallest eigenvalue {smallest:.3g}); "
            f"no weights have these overlaps")
    return problems


def _overlap_matrices(R, Q, K, M):
    R = np.array(R, dtype=np.float64)
    Q = np.array(Q, dtype=np.float64)
    return (R * np.eye(K, M) if R.ndim == 0 else R), (Q * np.eye(K) if Q.ndim == 0 else Q)


def _pair(item):
    if isinstance(item, str):
        return {"student": item, "teacher": item}
    return {"student": item["student"], "teacher": item["teacher"]}


# ------------------------------------------------------------------ expansion
def alpha_grid(alpha):
    """The recorded α values of an ``alpha`` entry (list, or {max, points, spacing, min})."""
    if isinstance(alpha, list):
        return tuple(float(a) for a in alpha)
    if alpha.get("spacing", "linear") == "linear":
        return tuple(float(a) for a in np.linspace(0.0, alpha["max"], alpha["points"]))
    smallest = alpha.get("min", alpha["max"] / 1e4)
    values = np.geomspace(smallest, alpha["max"], alpha["points"] - 1)
    return (0.0,) + tuple(float(a) for a in values)


def _nested(matrix):
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(matrix))


def expand(config):
    """All runs of a validated configuration, in a deterministic order."""
    solver = tuple(sorted(config.get("ode_solver", {}).items()))
    runs = []
    for name, experiment in config["experiments"].items():
        alphas = alpha_grid(experiment["alpha"])
        for item in experiment["activation"]:
            pair = _pair(item)
            for K in experiment["K"]:
                for M in experiment["M"]:
                    T = np.eye(M) if experiment["T"] == "identity" else np.array(experiment["T"])
                    init = experiment["init"]
                    if "random" in init:
                        init_key = ("random", float(init["random"]["Q"]))
                    else:
                        R, Q = _overlap_matrices(init["R"], init["Q"], K, M)
                        init_key = ("overlaps", _nested(R), _nested(Q))
                    for eta in experiment["eta"]:
                        common = dict(
                            experiment=name, student=pair["student"], teacher=pair["teacher"],
                            K=K, M=M, eta=float(eta), noise=float(experiment["noise"]),
                            weight_decay=float(experiment["weight_decay"]), T=_nested(T),
                            init=init_key, alphas=alphas,
                        )
                        if "ode" in experiment:
                            runs.append(RunSpec(method="ode", eta2=experiment["ode"]["eta2"],
                                                N=None, seed=None, solver=solver, **common))
                        if "simulate" in experiment:
                            simulate = experiment["simulate"]
                            for N in simulate["N"]:
                                for seed in range(simulate["seeds"]):
                                    runs.append(RunSpec(method=simulate["method"], eta2=None,
                                                        N=int(N), seed=seed, **common))
    return runs


# ------------------------------------------------------------------ batches
def estimated_seconds(spec):
    """A rough cost model of one run on this project's 2-core machine (seconds),
    used to pack runs into jobs and to request run time from a scheduler."""
    alpha_max = spec.alphas[-1]
    units = spec.K + spec.M
    if spec.method == "ode":
        heavy = activations.get(spec.student).family != activations.ERF or \
            activations.get(spec.teacher).family != activations.ERF
        per_unit = 2e-3 if heavy else 2e-4
        return 0.05 + per_unit * units**4 * (1.0 + math.log1p(alpha_max))
    steps = alpha_max * spec.N
    if spec.method == "full":  # N normals and 2KN multiply-adds
        per_step = 2e-7 + spec.N * (2.5e-9 + 5e-10 * spec.K)
    else:  # a Cholesky factorisation of the (K+M)x(K+M) Gram matrix
        per_step = 1e-7 + 3e-9 * units**3
    return 0.1 + steps * per_step


def estimated_megabytes(spec):
    """Memory one run needs beyond the interpreter (MB): the weights of a full
    simulation (K·N, three input buffers) and the recorded trajectory."""
    weights = (spec.K + 3) * spec.N if spec.method == "full" else 0
    recorded = len(spec.alphas) * (spec.K + spec.M) ** 2 * 4
    return 8e-6 * (weights + recorded)


def batches(specs, seconds=120.0, max_runs=500, parallel=1):
    """Pack runs into batches of about ``seconds`` estimated time (at most
    ``max_runs`` runs each), greedily in run_id order; smaller batches when
    that leaves fewer than ``parallel`` of them (so that all cores work).

    Returns ``{batch_name: [spec, ...]}``; a batch's name is a hash of its
    members' run_ids, so it changes whenever its membership does.  The result
    depends on ``specs`` and the arguments only (not on what is computed yet),
    so every process that packs the same sweep finds the same batches.
    """
    ordered = sorted(specs, key=lambda s: (s.method, s.run_id))
    total = sum(estimated_seconds(spec) for spec in ordered)
    seconds = min(seconds, total / max(1, parallel))
    groups, current, load = [], [], 0.0
    for spec in ordered:
        cost = estimated_seconds(spec)
        if current and (load + cost > seconds or len(current) >= max_runs
                        or current[0].method != spec.method):
            groups.append(current)
            current, load = [], 0.0
        current.append(spec)
        load += cost
    if current:
        groups.append(current)
    named = {}
    for group in groups:
        digest = hashlib.sha256("".join(s.run_id for s in group).encode()).hexdigest()[:12]
        named[f"{group[0].method}-{digest}"] = group
    return named
