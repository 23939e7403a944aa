"""Progress bars on the long steps: synthesis, validation, the study build, the report.

One switch everywhere: a ``progress`` argument that is ``True`` (on), ``False`` (off) or
``None`` (automatic). Automatic is the environment variable ``PALEVAL_PROGRESS`` when it is set
(``1`` on, ``0`` off), else on when standard error is a terminal or the code runs in an
interactive Jupyter kernel, off otherwise (a pipe, a log file, pytest, a batch job). The kernels
``paleval report`` starts run with ``PALEVAL_PROGRESS=0``, so the executed notebooks never hold
progress output.

Bars are tqdm's: a widget in Jupyter when ipywidgets is installed, text on standard error
otherwise (also in Jupyter without ipywidgets). Never standard output, never a result. One bar
counts steps, registers, files, chunks or notebooks, never rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["PROGRESS_ENV", "Steps", "in_notebook", "progress_enabled"]

PROGRESS_ENV = "PALEVAL_PROGRESS"
"""The environment variable that switches automatic progress on (``1``) or off (``0``)."""

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (an interactive notebook or papermill).

    Examples
    --------
    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or half imported: not a kernel
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show progress: ``progress`` when it is ``True`` or ``False``; for ``None``
    the environment variable ``PALEVAL_PROGRESS`` (``1``/``0``, also ``true``/``false``,
    ``yes``/``no``, ``on``/``off``) when set, else on when standard error is a terminal or in a
    Jupyter kernel.

    Raises
    ------
    TypeError
        ``progress`` is not ``True``, ``False`` or ``None``.
    ValueError
        ``PALEVAL_PROGRESS`` holds something else than the values above.

    Examples
    --------
    >>> progress_enabled(True), progress_enabled(False)
    (True, False)
    >>> import os
    >>> os.environ["PALEVAL_PROGRESS"] = "1"
    >>> progress_enabled()
    True
    >>> progress_enabled(False)  # the argument wins over the environment
    False
    >>> del os.environ["PALEVAL_PROGRESS"]
    """
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None (automatic), got {progress!r}")
        return progress
    raw = os.environ.get(PROGRESS_ENV, "")
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    if value:
        raise ValueError(
            f"environment variable {PROGRESS_ENV}={raw!r}: use 1 (progress bars on) or 0 (off)"
        )
    if in_notebook():
        return True
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def _widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _bar(desc: str, total: int | None, unit: str) -> Any:
    if in_notebook() and _widgets():
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm(total=total, desc=desc, unit=unit, leave=None)
    from tqdm import tqdm

    # leave=None: a bar stays on the terminal when it is the outermost, an inner one (the
    # validation's inside the study build's) goes when it is done
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=None,
        bar_format=_FORMAT,
    )


_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
"""Steps, time so far and left, the step under way (no rate: steps are not alike)."""


class Steps:
    """A progress bar over named steps (``desc``, then the step under way after the count).

    ``step(name)`` finishes the step under way and starts ``name``; ``advance(name)`` counts one
    finished step (steps that end out of order, such as notebooks run in parallel);
    ``note(text)`` names what the current step is doing without counting. Switched off
    (``progress`` resolved by :func:`progress_enabled`), every method does nothing.

    Examples
    --------
    >>> with Steps("study", 2, progress=False) as bar:
    ...     bar.step("validation")
    ...     bar.step("cohort")
    >>> bar.enabled
    False
    """

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        *,
        progress: bool | None = None,
        unit: str = "step",
    ) -> None:
        self.enabled = progress_enabled(progress)
        self._bar = _bar(desc, total, unit) if self.enabled else None
        self._running = False

    def set_total(self, total: int) -> None:
        """Set the number of steps once it is known (after a first step, say)."""
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def step(self, name: str) -> None:
        """Finish the step under way (if any) and start the step ``name``."""
        if self._bar is None:
            return
        if self._running:
            self._bar.update(1)
        self._running = True
        self._bar.set_postfix_str(name, refresh=True)

    def advance(self, name: str) -> None:
        """Count one finished step, ``name``."""
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(name, refresh=True)

    def note(self, text: str) -> None:
        """Name what the current step is doing, without counting a step."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def write(self, log: Callable[[str], None], message: str) -> None:
        """Call ``log(message)`` with the bar lifted off the terminal, so a log line printed
        while the bar runs does not break it."""
        if self._bar is None:
            log(message)
            return
        from tqdm import tqdm

        with tqdm.external_write_mode(file=sys.stdout):
            log(message)

    def close(self) -> None:
        """Finish the step under way and close the bar (the bar stays on the terminal)."""
        if self._bar is None:
            return
        if self._running:
            self._bar.update(1)
            self._running = False
        self._bar.close()
        self._bar = None

    def __enter__(self) -> Steps:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._running = False  # a failed step is not counted as done
        self.close()
