"""Shared input checks for the survival and competing-risks estimators.

All checks raise :class:`ValueError` with a message naming the argument, the number
of offending rows and up to five example (0-based) row indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from paleval.stats._design import Coding, dummy_coding, is_categorical

__all__ = [
    "as_1d_array",
    "check_event",
    "check_groups",
    "check_lengths",
    "check_time",
    "covariate_matrix",
    "resolve_column",
]

_MAX_EXAMPLES = 5


def _examples(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(i)) for i in idx[:_MAX_EXAMPLES])
    more = ", ..." if idx.size > _MAX_EXAMPLES else ""
    return f"{idx.size} row(s), e.g. at index {shown}{more}"


def resolve_column(x: Any, data: pl.DataFrame | None, name: str) -> Any:
    """Return ``data[x]`` when ``x`` is a column name and ``data`` is given, else ``x``."""
    if isinstance(x, str):
        if data is None:
            raise ValueError(f"`{name}` is a column name ({x!r}) but no `data` frame was given")
        if x not in data.columns:
            raise ValueError(
                f"`{name}`: column {x!r} not found in `data` (columns: {data.columns})"
            )
        return data.get_column(x)
    return x


def as_1d_array(x: Any, name: str, *, dtype: Any = None) -> np.ndarray:
    """Convert a list / numpy array / polars Series to a 1-d numpy array."""
    if x is None:
        raise ValueError(f"`{name}` must not be None")
    if isinstance(x, pl.Series):
        if x.null_count() > 0:
            raise ValueError(
                f"`{name}` contains missing values (null): " + _examples(x.is_null().to_numpy())
            )
        arr = x.to_numpy()
    elif isinstance(x, pl.DataFrame):
        raise ValueError(f"`{name}` must be one-dimensional, got a DataFrame")
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}")
    if dtype is not None:
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"`{name}` could not be converted to {np.dtype(dtype)}: {exc}"
            ) from exc
    return arr


def check_lengths(**arrays: np.ndarray | None) -> int:
    """Check that all given (non-None) arrays have the same length; return it."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"`{k}` has {v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have the same length: {desc}")
    n = next(iter(lengths.values())) if lengths else 0
    if n == 0:
        raise ValueError("inputs are empty (0 rows)")
    return n


def check_time(time: Any, name: str = "time") -> np.ndarray:
    """Return ``time`` as float64; reject NaN, infinite and negative values."""
    t = as_1d_array(time, name)
    if not (np.issubdtype(t.dtype, np.number) or t.dtype == bool):
        raise ValueError(f"`{name}` must be numeric, got dtype {t.dtype}")
    t = t.astype(np.float64)
    bad = np.isnan(t)
    if bad.any():
        raise ValueError(f"`{name}` contains NaN: " + _examples(bad))
    bad = ~np.isfinite(t)
    if bad.any():
        raise ValueError(f"`{name}` contains infinite values: " + _examples(bad))
    bad = t < 0
    if bad.any():
        raise ValueError(f"`{name}` contains negative times: " + _examples(bad))
    return t


def check_event(event: Any, name: str = "event", *, max_code: int | None = None) -> np.ndarray:
    """Return ``event`` as int64 codes (0 = censored, 1, 2, ... = causes).

    Booleans are accepted (``True`` = event of cause 1). Non-integer, negative or NaN
    codes are rejected; with ``max_code`` codes above it are rejected too.
    """
    e = as_1d_array(event, name)
    if e.dtype == bool:
        return e.astype(np.int64)
    if not np.issubdtype(e.dtype, np.number):
        raise ValueError(
            f"`{name}` must hold integer codes (0 = censored, 1, 2, ... = causes), "
            f"got dtype {e.dtype}"
        )
    if np.issubdtype(e.dtype, np.floating):
        bad = np.isnan(e)
        if bad.any():
            raise ValueError(f"`{name}` contains NaN: " + _examples(bad))
        bad = e != np.round(e)
        if bad.any():
            raise ValueError(f"`{name}` contains non-integer codes: " + _examples(bad))
    e = e.astype(np.int64)
    bad = e < 0
    if bad.any():
        raise ValueError(
            f"`{name}` contains negative codes (use 0 = censored, 1, 2, ... = causes): "
            + _examples(bad)
        )
    if max_code is not None:
        bad = e > max_code
        if bad.any():
            raise ValueError(
                f"`{name}` must be 0 (censored) or 1 (event) here; codes > {max_code} in "
                + _examples(bad)
            )
    return e


def check_groups(group: Any, n: int, name: str = "group") -> np.ndarray | None:
    """Return group labels as a 1-d numpy array (or None); reject missing labels."""
    if group is None:
        return None
    g = as_1d_array(group, name)
    if len(g) != n:
        raise ValueError(f"`{name}` has {len(g)} rows but `time` has {n}")
    if g.dtype.kind == "f":
        bad = np.isnan(g)
        if bad.any():
            raise ValueError(f"`{name}` contains NaN: " + _examples(bad))
    elif g.dtype == object:
        bad = np.array([v is None for v in g], dtype=bool)
        if bad.any():
            raise ValueError(f"`{name}` contains missing values: " + _examples(bad))
    return g


def _frame_matrix(covariates: pl.DataFrame, name: str) -> tuple[np.ndarray, Coding]:
    """The columns of a covariate frame as a float matrix, categorical columns dummy coded by
    :func:`paleval.stats._design.dummy_coding` (terms ``column[level]``, no intercept)."""
    for cname in covariates.columns:
        s = covariates.get_column(cname)
        if s.null_count() > 0:
            raise ValueError(
                f"`{name}` column {cname!r} contains missing values: "
                + _examples(s.is_null().to_numpy())
            )
        if not (is_categorical(s.dtype) or s.dtype == pl.Boolean or s.dtype.is_numeric()):
            raise ValueError(
                f"`{name}` column {cname!r} has unsupported dtype {s.dtype}; "
                "use numeric, boolean, String, Categorical or Enum columns"
            )
    coding = dummy_coding(covariates, covariates.columns, intercept=False)
    return coding.matrix(covariates), coding


def covariate_matrix(
    covariates: Any, n: int, name: str = "covariates"
) -> tuple[np.ndarray, Coding]:
    """Turn covariates into a float design matrix and its coding (terms, coded levels).

    Accepts a polars DataFrame (numeric / boolean columns; String, Categorical and Enum
    columns are dummy-coded by :func:`paleval.stats._design.dummy_coding`: the first level
    as reference, category order for Enum, sorted otherwise; terms ``column[level]``), a 2-d
    numpy array or a sequence of 1-d arrays (terms ``x1, x2, ...``). Missing values and
    non-finite values are rejected.

    Examples
    --------
    >>> d = pl.DataFrame({"stage": ["II", "I", "III"], "age": [60, 70, 80]})
    >>> X, coding = covariate_matrix(d, 3)
    >>> coding.terms, X.shape
    (['stage[II]', 'stage[III]', 'age'], (3, 3))
    """
    if covariates is None:
        raise ValueError(f"`{name}` must be given")
    if isinstance(covariates, pl.Series):
        covariates = covariates.to_frame()
    if isinstance(covariates, pl.DataFrame):
        X, coding = _frame_matrix(covariates, name)
    else:
        X = np.asarray(covariates, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"`{name}` must be 2-dimensional, got shape {X.shape}")
        names = [f"x{j + 1}" for j in range(X.shape[1])]
        coding = Coding(names, {}, names, intercept=False)
    if X.shape[0] != n:
        raise ValueError(f"`{name}` has {X.shape[0]} rows but `time` has {n}")
    if X.shape[1] == 0:
        raise ValueError(f"`{name}` has no columns")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(f"`{name}` contains NaN or infinite values: " + _examples(bad))
    return np.ascontiguousarray(X, dtype=np.float64), coding


def as_counts(x: Any, name: str) -> np.ndarray:
    """Convert counts to a 1-d float array and check they are finite non-negative integers."""
    if isinstance(x, pl.Series):
        if x.null_count() > 0:
            raise ValueError(f"{name}: {x.null_count()} missing value(s)")
        arr = x.cast(pl.Float64).to_numpy()
    else:
        arr = np.atleast_1d(np.asarray(x, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a scalar or 1-d array, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} row(s) are not finite non-negative integers")
    return arr
