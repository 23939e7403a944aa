"""STROBE-style flow of a cohort: the count at every inclusion and exclusion step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["Flow", "FlowStep"]


@dataclass(frozen=True)
class FlowStep:
    """One step: ``n`` persons remain after it; ``excluded`` left at this step (0 for the
    starting population). A count suppressed by disclosure control is ``None``, shown as its
    marker ``n_mark``/``excluded_mark`` (``"<5"`` for a count under the threshold, ``"[s]"``
    for a secondarily suppressed one, which may be large)."""

    label: str
    n: int | None
    excluded: int | None = 0
    reason: str = ""
    n_mark: str | None = None
    excluded_mark: str | None = None


@dataclass
class Flow:
    """The ordered steps of a cohort's construction.

    Examples
    --------
    >>> f = Flow()
    >>> f.start("Deaths 2010-2024", 100)
    >>> f.exclude("Aged under 18 at death", 97)
    >>> f.table["excluded"].to_list()
    [0, 3]
    """

    steps: list[FlowStep] = field(default_factory=list)

    def start(self, label: str, n: int) -> None:
        """Record the starting population."""
        self.steps.append(FlowStep(label, int(n)))

    def exclude(self, reason: str, n_after: int) -> None:
        """Record an exclusion step by the count that remains after it."""
        if not self.steps:
            raise ValueError("a flow must start before it can exclude")
        before = self.steps[-1].n
        if n_after > before:
            raise ValueError(f"step {reason!r} increases the count ({before} -> {n_after})")
        self.steps.append(FlowStep(f"Excluded: {reason}", int(n_after), before - n_after, reason))

    @property
    def table(self) -> pl.DataFrame:
        """Tidy table of the steps: ``step, label, n, excluded``."""
        return pl.DataFrame(
            {
                "step": list(range(1, len(self.steps) + 1)),
                "label": [s.label for s in self.steps],
                "n": [s.n for s in self.steps],
                "excluded": [s.excluded for s in self.steps],
            },
            schema={"step": pl.Int64, "label": pl.String, "n": pl.Int64, "excluded": pl.Int64},
        )

    @property
    def final(self) -> int | None:
        """Persons in the cohort after the last step (``None`` if suppressed)."""
        return self.steps[-1].n if self.steps else 0

    def __repr__(self) -> str:
        if not self.steps:
            return "Cohort flow: (empty)"
        first = self.steps[0]
        n0 = f"{first.n:,}" if first.n is not None else (first.n_mark or "[s]")
        lines = ["Cohort flow:", f"  {first.label}: {n0}"]
        for s in self.steps[1:]:
            ex = f"{s.excluded:,}" if s.excluded is not None else (s.excluded_mark or "[s]")
            n = f"{s.n:,}" if s.n is not None else (s.n_mark or "[s]")
            lines.append(f"  - {s.reason}: {ex} excluded -> {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    def plot(self, ax: Any = None) -> Any:
        """Draw the flow diagram (boxes for the remaining counts, side boxes for exclusions).

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 1.3 * max(len(self.steps), 1)))
        first = self.steps[0]
        y = 0.0
        ax.set_axis_off()
        box = {"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.3"}
        ax.text(
            0.3,
            y,
            f"{first.label}\n{_fmt(first.n, first.n_mark)}",
            ha="center",
            va="center",
            bbox=box,
        )
        for s in self.steps[1:]:
            y -= 1.0
            ax.annotate(
                "", xy=(0.3, y + 0.25), xytext=(0.3, y + 0.75), arrowprops={"arrowstyle": "->"}
            )
            ax.text(
                0.75,
                y + 0.5,
                f"{s.reason}\n{_fmt(s.excluded, s.excluded_mark)}",
                ha="center",
                va="center",
                bbox={**box, "ec": "0.6"},
                fontsize=9,
            )
            ax.text(0.3, y, _fmt(s.n, s.n_mark), ha="center", va="center", bbox=box)
        ax.set_xlim(0, 1.05)
        ax.set_ylim(y - 0.6, 0.6)
        return ax


def _fmt(n: int | None, mark: str | None = None) -> str:
    """A count for the diagram. A suppressed count (``None``) shows its marker: ``"n < 5"``
    for a count under the threshold, ``"n = [s]"`` otherwise (never "<5" for what may be a
    large cohort).

    Examples
    --------
    >>> _fmt(2485), _fmt(None, "<5"), _fmt(None, "[s]"), _fmt(None)
    ('n = 2,485', 'n < 5', 'n = [s]', 'n = [s]')
    """
    if n is not None:
        return f"n = {n:,}"
    if mark is not None and mark.startswith("<"):
        return f"n < {mark[1:]}"
    return f"n = {mark or '[s]'}"
