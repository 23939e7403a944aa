"""The domain vocabulary is defined once (`paleval.codes.vocabulary`): the modules that used
to define it use it, the names that were public elsewhere warn, and no literal comes back."""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import polars as pl
import pytest

from paleval.codes import vocabulary as v

SRC = Path(__file__).resolve().parents[1] / "src" / "paleval"


def test_values() -> None:
    assert (v.DEFAULT_START, v.DEFAULT_END) == ("2010-01-01", "2024-12-31")
    assert v.PLACES_OF_DEATH == ("home", "nursing_home", "hospital", "hospice", "other")
    assert v.UNKNOWN_PLACE not in v.PLACES_OF_DEATH
    assert v.LEVEL_ORDER["age_group"] == [*v.AGE_GROUPS, "80+"]
    for col, ref in v.REFERENCE_LEVELS.items():
        if col in v.LEVEL_ORDER:
            assert ref == v.LEVEL_ORDER[col][0] or col == "age_group", col


def test_age_groups_are_the_labels_the_cohort_gives() -> None:
    from paleval.cohort.expressions import age_group

    ages = pl.DataFrame({"a": [18, 49, 50, 79, 80, 89, 90, 104]})
    for breaks, labels in (
        (v.AGE_BREAKS, v.AGE_GROUPS),
        (v.AGE_BREAKS_80PLUS, v.AGE_GROUPS_80PLUS),
    ):
        got = ages.select(age_group("a", breaks)).to_series().unique(maintain_order=True)
        assert tuple(got.to_list()) == tuple(lb for lb in labels if lb in got.to_list())
        assert set(got.to_list()) <= set(labels)


def test_the_default_study_period_is_the_vocabulary_one() -> None:
    from paleval.cli import build_parser
    from paleval.cohort.decedents import decedent_cohort
    from paleval.cohort.incident import incident_cancer_cohort
    from paleval.report.runner import run_report

    for fn in (decedent_cohort, incident_cancer_cohort, run_report):
        params = inspect.signature(fn).parameters
        assert params["start"].default == v.DEFAULT_START, fn.__name__
        assert params["end"].default == v.DEFAULT_END, fn.__name__
    args = build_parser().parse_args(["report"])
    assert (args.start, args.end) == (v.DEFAULT_START, v.DEFAULT_END)


def test_no_module_repeats_the_vocabulary_literals() -> None:
    # the default dates and the tuple of places were written out in many modules; synth is
    # owned elsewhere (its PLACES also holds the generator's integer coding)
    pattern = re.compile(r'"2010-01-01"|"2024-12-31"|\(\s*"home",\s*"nursing_home",')
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "vocabulary.py"
        and "synth" not in p.parts
        and pattern.search("\n".join(ln for ln in p.read_text().splitlines() if ">>>" not in ln))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "name", "value"),
    [
        ("paleval.analyses.cancer_noncancer", "PLACES", (*v.PLACES_OF_DEATH, v.UNKNOWN_PLACE)),
        ("paleval.analyses.place_of_death", "PLACES", v.PLACES_OF_DEATH),
        ("paleval.cohort.expressions", "AGE_LABELS", v.AGE_GROUPS),
    ],
)
def test_moved_public_names_warn_and_keep_their_value(module, name, value) -> None:
    import importlib

    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{name} is deprecated; use paleval.codes"):
        got = getattr(mod, name)
    assert tuple(got) == tuple(value)
    with pytest.raises(AttributeError):
        mod.NO_SUCH_NAME  # noqa: B018


def test_the_analyses_use_the_vocabulary_without_warning() -> None:
    from paleval.analyses import inequality, place_of_death

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert place_of_death.DEFAULT_REFERENCE["age_group"] == v.REFERENCE_LEVELS["age_group"]
        assert inequality.DEFAULT_REFERENCE["age_group"] == v.REFERENCE_AGE_GROUP_INEQUALITY
        assert inequality.DEFAULT_REFERENCE["origin"] == v.LEVEL_ORDER["origin"][0]
