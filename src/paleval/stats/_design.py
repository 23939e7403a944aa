"""The design matrix of paleval's regression models: checked columns, dropped incomplete rows,
the outcome vector, case weights, dummy coding of categorical predictors against a reference
level and a rank check.

The one dummy coder of :mod:`paleval.stats`: regression, GEE, negative binomial, mixed models
(:func:`build_design`) and the Cox and Fine-Gray models (:func:`dummy_coding` through
``_validate.covariate_matrix``) code String, Categorical and Enum columns the same way: levels
in Enum order, otherwise sorted, the first (or the given ``reference``) as reference, one
indicator term per other level named ``column[level]``. :func:`term_frame` gives each term
its ``variable`` and ``level`` so that no caller parses the name back. Public names inside
this private module, not paleval's API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from paleval.stats._errors import NotEstimableError

_CATEGORICAL = (pl.String, pl.Categorical, pl.Enum)

INTERCEPT = "(Intercept)"
"""The name of the intercept term (as R)."""

OutcomeKind = Literal["binary", "nominal", "continuous", "count"]


def is_categorical(dtype: pl.DataType) -> bool:
    """Whether a column of this type is dummy coded (String, Categorical, Enum)."""
    return isinstance(dtype, _CATEGORICAL) or dtype in (pl.String, pl.Categorical)


def observed_levels(s: pl.Series) -> list[str]:
    """Observed levels of a categorical series, in Enum order or sorted."""
    present = s.cast(pl.String).unique().drop_nulls().to_list()
    if isinstance(s.dtype, pl.Enum):
        cats = s.dtype.categories.to_list()
        return [c for c in cats if c in set(present)]
    return sorted(present)


@dataclass
class Coding:
    """How predictors are turned into design-matrix columns."""

    predictors: list[str]
    levels: dict[str, list[str]]  # categorical column -> [reference, other levels...]
    terms: list[str]
    intercept: bool = True

    def dummy_mask(self) -> np.ndarray:
        """Boolean mask of the design columns that are dummy (indicator) terms."""
        mask = [False] if self.intercept else []
        for col in self.predictors:
            if col in self.levels:
                mask += [True] * (len(self.levels[col]) - 1)
            else:
                mask.append(False)
        return np.array(mask)

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """The design matrix of ``frame`` (intercept first, then each predictor's columns)."""
        exprs: list[pl.Expr] = []
        if self.intercept:
            exprs.append(pl.repeat(1.0, pl.len()).alias(INTERCEPT))
        for col in self.predictors:
            if col in self.levels:
                s = pl.col(col).cast(pl.String)
                exprs += [
                    (s == lvl).cast(pl.Float64).alias(term_name(col, lvl))
                    for lvl in self.levels[col][1:]
                ]
            else:
                exprs.append(pl.col(col).cast(pl.Float64).alias(col))
        if not exprs:
            return np.empty((frame.height, 0))
        return frame.select(exprs).to_numpy().astype(float)

    def term_frame(self) -> pl.DataFrame:
        """``term``, ``variable`` and ``level`` of each term (see :func:`term_frame`).

        Examples
        --------
        >>> d = pl.DataFrame({"g": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
        >>> dummy_coding(d, ["g", "x"]).term_frame().rows()[1:]
        [('g[b]', 'g', 'b'), ('g[c]', 'g', 'c'), ('x', 'x', None)]
        """
        return term_frame(self.terms, self.levels)


@dataclass
class Design:
    """A model's design: matrix, outcome, weights, cluster codes and the rows it came from."""

    X: np.ndarray
    y: np.ndarray  # binary 0/1, integer codes (nominal), or numbers
    w: np.ndarray
    cluster: np.ndarray | None
    coding: Coding
    data: pl.DataFrame
    n_dropped: int
    weighted: bool


def missing_mask(frame: pl.DataFrame, cols: Sequence[str]) -> pl.Expr:
    """True for rows with a null (or NaN, in float columns) in any of ``cols``."""
    parts = []
    for c in cols:
        e = pl.col(c).is_null()
        if frame.schema[c].is_float():
            e = e | pl.col(c).is_nan()
        parts.append(e)
    return pl.any_horizontal(parts) if parts else pl.lit(False)


def _check_columns(
    data: pl.DataFrame,
    outcome: str,
    predictors: list[str],
    extra: Sequence[str],
    reference: Mapping[str, str],
) -> list[str]:
    """The columns used, each present once and of a usable type."""
    if not isinstance(data, pl.DataFrame):
        raise TypeError(f"data must be a polars DataFrame, got {type(data).__name__}")
    used = [outcome, *predictors, *extra]
    missing = [c for c in dict.fromkeys(used) if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in data")
    dups = {c for c in predictors if predictors.count(c) > 1} | ({outcome} & set(predictors))
    if dups:
        raise ValueError(f"column(s) {sorted(dups)} used more than once")
    unknown_ref = [c for c in reference if c not in predictors]
    if unknown_ref:
        raise ValueError(f"reference given for column(s) {unknown_ref} not among the predictors")
    cols = list(dict.fromkeys(used))
    for c in cols:
        dt = data.schema[c]
        if not (is_categorical(dt) or dt.is_numeric() or dt == pl.Boolean):
            raise ValueError(f"column {c!r} has unsupported type {dt}")
    return cols


def _binary_outcome(ys: pl.Series, outcome: str) -> np.ndarray:
    if is_categorical(ys.dtype):
        raise ValueError(
            f"outcome column {outcome!r} must be 0/1 (numeric or Boolean), got {ys.dtype}"
        )
    y = ys.cast(pl.Float64).to_numpy()
    bad = int(np.sum((y != 0) & (y != 1)))
    if bad:
        raise ValueError(f"outcome column {outcome!r}: {bad} row(s) are not 0 or 1")
    if np.all(y == 0) or np.all(y == 1):
        raise NotEstimableError(
            f"outcome column {outcome!r}: all {y.size} analysed rows are {int(y[0])}; "
            "the model is not estimable"
        )
    return y


def _nominal_outcome(ys: pl.Series, outcome: str) -> tuple[np.ndarray, list[str]]:
    if ys.dtype.is_float():
        raise ValueError(f"outcome column {outcome!r} must be categorical or integer")
    if ys.dtype.is_integer():
        y_levels = [str(v) for v in sorted(ys.unique().to_list())]
    else:
        y_levels = observed_levels(ys)
    y = (
        ys.cast(pl.String)
        .replace_strict(y_levels, list(range(len(y_levels))), return_dtype=pl.Int64)
        .to_numpy()
    )
    return y, y_levels


def _count_outcome(ys: pl.Series, outcome: str) -> np.ndarray:
    if is_categorical(ys.dtype):
        raise ValueError(f"outcome column {outcome!r} must be a non-negative count, got {ys.dtype}")
    y = ys.cast(pl.Float64).to_numpy()
    bad = int(np.sum(~np.isfinite(y) | (y < 0)))
    if bad:
        raise ValueError(f"outcome column {outcome!r}: {bad} row(s) negative or not finite")
    return y


def _weight_values(clean: pl.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(clean.height)
    w = clean[weights].cast(pl.Float64).to_numpy()
    bad = int(np.sum(~np.isfinite(w) | (w < 0)))
    if bad:
        raise ValueError(f"weights column {weights!r}: {bad} row(s) negative or not finite")
    if not np.any(w > 0):
        raise ValueError(f"weights column {weights!r}: all weights are zero")
    return w


def term_name(variable: str, level: str) -> str:
    """The name of the indicator term of ``level`` of a categorical ``variable``.

    Examples
    --------
    >>> term_name("stage", "II")
    'stage[II]'
    """
    return f"{variable}[{level}]"


def term_frame(
    terms: Sequence[str], levels: Mapping[str, Sequence[str]] | None = None
) -> pl.DataFrame:
    """``term``, ``variable`` and ``level`` of model terms, looked up (not parsed).

    ``levels`` maps each coded variable to its levels; the term of a level (named by
    :func:`term_name`) gets that variable and level. Any other term (the intercept, a numeric
    covariate) is its own variable, with a null level.

    Examples
    --------
    >>> term_frame(["(Intercept)", "sex[male]", "age"], {"sex": ["female", "male"]}).rows()
    [('(Intercept)', '(Intercept)', None), ('sex[male]', 'sex', 'male'), ('age', 'age', None)]
    """
    lookup = {term_name(v, lv): (v, str(lv)) for v, lvs in (levels or {}).items() for lv in lvs}
    pairs = [lookup.get(t, (t, None)) for t in terms]
    return pl.DataFrame(
        {
            "term": list(terms),
            "variable": [p[0] for p in pairs],
            "level": [p[1] for p in pairs],
        },
        schema={"term": pl.String, "variable": pl.String, "level": pl.String},
    )


def with_term_columns(
    table: pl.DataFrame, levels: Mapping[str, Sequence[str]] | None = None
) -> pl.DataFrame:
    """``table`` (with a ``term`` column) with ``variable`` and ``level`` right after ``term``.

    Examples
    --------
    >>> t = pl.DataFrame({"term": ["(Intercept)", "g[b]"], "estimate": [0.5, 1.0]})
    >>> with_term_columns(t, {"g": ["a", "b"]}).columns
    ['term', 'variable', 'level', 'estimate']
    """
    parts = term_frame(table["term"].to_list(), levels).drop("term")
    at = table.columns.index("term") + 1
    cols = table.columns
    return pl.concat([table, parts], how="horizontal").select(
        *cols[:at], "variable", "level", *cols[at:]
    )


def dummy_coding(
    frame: pl.DataFrame,
    predictors: Sequence[str],
    reference: Mapping[str, str] | None = None,
    *,
    intercept: bool = True,
) -> Coding:
    """The dummy coding of ``predictors`` in ``frame`` (no missing values): each String,
    Categorical or Enum column against its reference level (``reference[column]``, else the
    first of :func:`observed_levels`), one ``column[level]`` term per other level present;
    numeric and Boolean columns enter as they are.

    Examples
    --------
    >>> d = pl.DataFrame({"g": ["b", "a", "c"], "x": [1.0, 2.0, 3.0]})
    >>> dummy_coding(d, ["g", "x"], {"g": "b"}).terms
    ['(Intercept)', 'g[a]', 'g[c]', 'x']
    >>> e = d.with_columns(pl.col("g").cast(pl.Enum(["c", "b", "a"])))
    >>> dummy_coding(e, ["g"], intercept=False).terms
    ['g[b]', 'g[a]']
    """
    predictors = list(predictors)
    reference = dict(reference or {})
    levels: dict[str, list[str]] = {}
    terms = [INTERCEPT] if intercept else []
    for col in predictors:
        s = frame[col]
        if not is_categorical(s.dtype):
            if col in reference:
                raise ValueError(f"reference given for numeric column {col!r}")
            terms.append(col)
            continue
        lv = observed_levels(s)
        ref = reference.get(col, lv[0])
        if ref not in lv:
            raise ValueError(
                f"reference level {ref!r} not found in column {col!r} (levels present: {lv})"
            )
        lv = [ref, *[v for v in lv if v != ref]]
        levels[col] = lv
        terms += [term_name(col, v) for v in lv[1:]]
    return Coding(predictors, levels, terms, intercept)


def _check_rank(X: np.ndarray, terms: list[str]) -> None:
    norms = np.sqrt((X**2).sum(axis=0))
    Xs = X / np.where(norms > 0, norms, 1.0)
    if np.any(norms == 0) or np.linalg.matrix_rank(Xs.T @ Xs, tol=1e-10) < X.shape[1]:
        raise NotEstimableError(
            "design matrix is rank deficient (collinear predictors or a level/variable that "
            f"is constant in the analysis sample); terms: {terms}"
        )


def build_design(
    data: pl.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    cluster: str | None,
    weights: str | None,
    reference: Mapping[str, str] | None,
    outcome_kind: OutcomeKind,
    extra_columns: Sequence[str] = (),
) -> tuple[Design, list[str] | None]:
    """The design of a model, and the outcome's levels for a nominal outcome.

    Rows with a missing value in any used column are dropped (counted in ``n_dropped``);
    ``extra_columns`` (e.g. an offset or a time order) count as used and are kept in
    ``Design.data``.

    Examples
    --------
    >>> d = pl.DataFrame({"y": [0, 1, 1, 0], "g": ["a", "b", "b", "a"], "x": [1.0, 2, 3, None]})
    >>> design, _ = build_design(d, "y", ["g", "x"], None, None, None, "binary")
    >>> design.coding.terms, design.n_dropped
    (['(Intercept)', 'g[b]', 'x'], 1)
    """
    predictors = list(predictors)
    reference = dict(reference or {})
    extra = [c for c in (cluster, weights) if c is not None] + list(extra_columns)
    cols = _check_columns(data, outcome, predictors, extra, reference)
    frame = data.select(cols)
    miss = frame.select(missing_mask(frame, cols).alias("m"))["m"]
    n_dropped = int(miss.sum())
    clean = frame.filter(~miss)
    if clean.height == 0:
        raise NotEstimableError("no rows left after dropping rows with missing values")
    ys = clean[outcome]
    y_levels: list[str] | None = None
    if outcome_kind == "binary":
        y = _binary_outcome(ys, outcome)
    elif outcome_kind == "nominal":
        y, y_levels = _nominal_outcome(ys, outcome)
    elif outcome_kind == "count":
        y = _count_outcome(ys, outcome)
    else:
        y = ys.cast(pl.Float64).to_numpy()
    w = _weight_values(clean, weights)
    coding = dummy_coding(clean, predictors, reference)
    X = coding.matrix(clean)
    _check_rank(X, coding.terms)
    cl = None
    if cluster is not None:
        cl = clean[cluster].rank("dense").to_numpy().astype(np.int64) - 1
    return Design(X, y, w, cl, coding, clean, n_dropped, weights is not None), y_levels


def offset_values(
    data: pl.DataFrame, offset: str | None, exposure: str | None
) -> tuple[np.ndarray | None, str | None]:
    """The offset of a log-link model, from ``offset`` (a column on the log scale, as R
    ``offset = ``) or ``exposure`` (person-time, whose log is the offset), and the column used.

    Raises a ``ValueError`` naming the column when both are given, or when values are not
    finite (offset) or not positive (exposure). Rows with a missing value are the caller's
    to drop first (they are counted as dropped rows).

    Examples
    --------
    >>> d = pl.DataFrame({"pt": [1.0, 2.0]})
    >>> off, col = offset_values(d, None, "pt")
    >>> [round(float(v), 4) for v in off], col
    ([0.0, 0.6931], 'pt')
    """
    if offset is not None and exposure is not None:
        raise ValueError("give either `offset` (log scale) or `exposure`, not both")
    col = offset if offset is not None else exposure
    if col is None:
        return None, None
    if col not in data.columns:
        raise ValueError(f"column {col!r} (the {'offset' if offset else 'exposure'}) not found")
    if not data.schema[col].is_numeric():
        raise ValueError(f"column {col!r} must be numeric, got {data.schema[col]}")
    v = data[col].cast(pl.Float64).to_numpy()
    if exposure is not None:
        bad = int(np.sum(~(v > 0) | ~np.isfinite(v)))
        if bad:
            raise ValueError(f"exposure column {col!r}: {bad} row(s) not positive and finite")
        return np.log(v), col
    bad = int(np.sum(~np.isfinite(v)))
    if bad:
        raise ValueError(f"offset column {col!r}: {bad} row(s) not finite")
    return v, col
