"""The errors paleval's estimators raise when a model cannot be estimated, so callers catch
them by type (never by the text of the message). Public names inside this private module;
exported from :mod:`paleval.stats`.

- :class:`NotEstimableError` (a ``ValueError``): the data do not identify the model: no rows
  left, an outcome without events (or without non-events), a factor with fewer than two
  levels, a singular (rank-deficient) design.
- :class:`SeparationError`: a level or covariate pattern predicts the outcome perfectly, so
  the estimates are not finite. It is a :class:`NotEstimableError`, and for compatibility
  also a :class:`ConvergenceError` (it used to be raised as one).
- :class:`ConvergenceError` (a ``RuntimeError``, as before): an iterative fit did not reach
  a valid solution.

Bad arguments (a missing column, an unknown option) remain plain ``ValueError``/``TypeError``.
"""

from __future__ import annotations

__all__ = ["ConvergenceError", "NotEstimableError", "SeparationError"]


class NotEstimableError(ValueError):
    """Raised when the data do not identify the model (no rows, no events, a singular
    design, a factor with fewer than two levels).

    A ``ValueError``, so ``except ValueError`` clauses written before it existed still
    catch it.

    Examples
    --------
    >>> import polars as pl
    >>> from paleval.stats import logistic
    >>> d = pl.DataFrame({"y": [0, 0, 0], "x": [1.0, 2.0, 3.0]})  # no events
    >>> try:
    ...     logistic(d, "y", ["x"])
    ... except NotEstimableError as exc:
    ...     print(type(exc).__name__)
    NotEstimableError
    """


class ConvergenceError(RuntimeError):
    """Raised when an iterative model fit does not converge to a valid solution.

    Examples
    --------
    >>> import polars as pl
    >>> from paleval.stats import logistic
    >>> d = pl.DataFrame({"y": [0, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0]})  # separated
    >>> try:
    ...     logistic(d, "y", ["x"])
    ... except ConvergenceError as exc:
    ...     print("separation" in str(exc))
    True
    """


class SeparationError(NotEstimableError, ConvergenceError):
    """Raised under complete or quasi-complete separation (estimates not finite).

    A :class:`NotEstimableError`; also a :class:`ConvergenceError`, as separation was
    reported before this class existed.

    Examples
    --------
    >>> import polars as pl
    >>> from paleval.stats import logistic
    >>> d = pl.DataFrame({"y": [0, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0]})
    >>> try:
    ...     logistic(d, "y", ["x"])
    ... except NotEstimableError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ConvergenceError))
    SeparationError True
    """
