"""The study's domain vocabulary, defined once: the default study period, places of death, age
groups, the display order of known factor levels and their reference levels.

Every package that needs one of these names imports it from here (``codes`` is the bottom
layer: cohort, analyses, report and the CLI may all import it), so a change (a new place of
death, another age band) is made in one place. Definitions and sources: ``docs/methods.md``
("Study period", "Place of death", "Age groups") and ``/work/shared/DOMAIN.md``. Plain
Python values only (no polars), so importing this module costs nothing.

Examples
--------
>>> DEFAULT_START, DEFAULT_END
('2010-01-01', '2024-12-31')
>>> PLACES_OF_DEATH + (UNKNOWN_PLACE,)
('home', 'nursing_home', 'hospital', 'hospice', 'other', 'unknown')
>>> AGE_GROUPS_80PLUS[-1], AGE_GROUPS[-2:]
('80+', ('80-89', '90+'))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "AGE_BREAKS",
    "AGE_BREAKS_80PLUS",
    "AGE_GROUPS",
    "AGE_GROUPS_80PLUS",
    "BOOLEAN_LEVELS",
    "DEFAULT_END",
    "DEFAULT_START",
    "DIAGNOSIS_CLASSES",
    "LEVEL_ORDER",
    "MISSING_LEVELS",
    "PLACES_OF_DEATH",
    "REFERENCE_AGE_GROUP_INEQUALITY",
    "REFERENCE_LEVELS",
    "SPC_UNITS",
    "UNKNOWN_PLACE",
    "moved_aliases",
]

# ------------------------------------------------------------------ study period
DEFAULT_START = "2010-01-01"
"""First day of the default study period (ISO date; deaths and diagnoses from this day)."""
DEFAULT_END = "2024-12-31"
"""Last day of the default study period (ISO date)."""

# ------------------------------------------------------------------ places of death
PLACES_OF_DEATH: tuple[str, ...] = ("home", "nursing_home", "hospital", "hospice", "other")
"""Known places of death, in display order."""
UNKNOWN_PLACE = "unknown"
"""The place of death when no register tells it (left out of the place-of-death models)."""

# ------------------------------------------------------------------ age groups
AGE_BREAKS: tuple[int, ...] = (50, 60, 70, 80, 90)
"""Lower bounds of the age groups after the first (18-49); the last group is open."""
AGE_GROUPS: tuple[str, ...] = ("18-49", "50-59", "60-69", "70-79", "80-89", "90+")
"""The age groups of :data:`AGE_BREAKS`, youngest first.

80-89 and 90+ are separate (issue 13): about half of all Danish decedents are 80 or older, so a
single open 80+ band lumps together very different end-of-life populations."""
AGE_BREAKS_80PLUS: tuple[int, ...] = (50, 60, 70, 80)
"""The former bands with an open 80+ group (Adsersen et al., BMC Palliat Care 2017)."""
AGE_GROUPS_80PLUS: tuple[str, ...] = ("18-49", "50-59", "60-69", "70-79", "80+")
"""The age groups of :data:`AGE_BREAKS_80PLUS`, youngest first."""

# ------------------------------------------------------------------ factor levels
MISSING_LEVELS: frozenset[str] = frozenset({"unknown", "missing"})
"""Factor levels that mean "not known" (excluded from models and inequality indices)."""

LEVEL_ORDER: dict[str, list[str]] = {
    "education": [
        "lower_secondary",
        "upper_secondary_vocational",
        "short_medium_higher",
        "long_higher",
    ],
    "income_quartile": ["1", "2", "3", "4"],
    "income_quintile": ["1", "2", "3", "4", "5"],
    "living_alone": ["cohabiting", "living_alone"],
    "immigrant": ["non_immigrant", "immigrant"],
    "origin": ["danish", "immigrant", "descendant"],
    "age_group": [*AGE_GROUPS, AGE_GROUPS_80PLUS[-1]],
    "gp_home_visit_category": ["0", "1-2", "3+"],
}
"""Display (and ridit) order of the levels of known ordered or binary factors, low to high."""

SPC_UNITS: tuple[str, ...] = ("hospital", "hospice", "none")
"""Kinds of specialised palliative care unit of a first contact (``"none"``: no contact), in
display order (hospital-based team or unit, hospice)."""
DIAGNOSIS_CLASSES: tuple[str, ...] = ("cancer", "noncancer")
"""The two diagnosis classes compared (cancer first: the reference)."""

BOOLEAN_LEVELS: dict[str, tuple[str, str]] = {
    "living_alone": ("cohabiting", "living_alone"),
    "immigrant": ("non_immigrant", "immigrant"),
}
"""Level names (false, true) of Boolean factors; other Booleans become ``"no"``/``"yes"``."""

REFERENCE_LEVELS: dict[str, str] = {
    "education": "lower_secondary",
    "income_quartile": "1",
    "income_quintile": "1",
    "living_alone": "cohabiting",
    "living_arrangement": "cohabiting",
    "immigrant": "non_immigrant",
    "origin": "danish",
    "gp_home_visit_category": "0",
    "propensity_quartile": "1",
    "spc_unit": "none",
    "cause_group": "cancer",
    "age_group": "70-79",
}
"""Reference level of each known factor in the models (the lowest social position, no
exposure, the cancer group); the age reference of the place-of-death models is 70-79."""
REFERENCE_AGE_GROUP_INEQUALITY = "80-89"
"""The age reference of the social-inequality models (``analyses.inequality``)."""


# ------------------------------------------------------------------ names that moved here
def moved_aliases(module: str, moved: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves names which moved to this module, with a
    ``DeprecationWarning`` (kept for one release).

    ``moved`` maps the old name to ``(new name here, value)``.

    Examples
    --------
    >>> import warnings
    >>> get = moved_aliases("paleval.x", {"PLACES": ("PLACES_OF_DEATH", PLACES_OF_DEATH)})
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     get("PLACES")[0], str(w[0].message)
    ('home', 'paleval.x.PLACES is deprecated; use paleval.codes.vocabulary.PLACES_OF_DEATH')
    """

    def __getattr__(name: str) -> Any:
        if name in moved:
            new, value = moved[name]
            warnings.warn(
                f"{module}.{name} is deprecated; use paleval.codes.vocabulary.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
