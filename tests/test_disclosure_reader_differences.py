"""Overlapping counts whose differences an output checker would query (issue 17).

The cancer/non-cancer summary of the ``tiny`` data, seed 4242 (the raw counts, copied from
``cancer_vs_noncancer(...).tables["summary"]``): the old protection published the aggregate
non-cancer row with ``home_death_n - referred_n - contact_n - contact_to_death_interval_n = 1``
(173 - 78 - 47 - 47), and ``paleval check-output`` refused the report. The columns overlap,
so the difference counts nobody, but a checker reads it as a count.
"""

from __future__ import annotations

import dataclasses
import itertools

import polars as pl

from paleval.analyses.cancer_noncancer import _summary_protection
from paleval.disclosure import Complement, Margin, Protection, protect
from paleval.disclosure.audit_read import Grid
from paleval.disclosure.audit_rules import build_table, complement_hits, subtractions

COUNTS = (
    "n",
    "referred_n",
    "contact_n",
    "referral_to_death_interval_n",
    "contact_to_death_interval_n",
    "wait_interval_n",
    "place_known_n",
    "home_death_n",
    "hospital_death_n",
    "gp_home_visit_n",
    "terminal_declaration_n",
)
ROWS = [
    ("cancer", "cancer", False, 639, 390, 307, 390, 307, 307, 635, 212, 201, 439, 427),
    ("noncancer", "noncancer", True, 978, 78, 47, 78, 47, 47, 958, 173, 376, 502, 149),
    ("heart", "noncancer", False, 272, 23, 14, 23, 14, 14, 265, 67, 110, 140, 34),
    ("respiratory", "noncancer", False, 178, 13, 9, 13, 9, 9, 174, 39, 79, 84, 17),
    ("dementia", "noncancer", False, 223, 11, 5, 11, 5, 5, 220, 12, 52, 122, 40),
    ("stroke", "noncancer", False, 145, 9, 2, 9, 2, 2, 142, 20, 64, 76, 27),
    ("liver", "noncancer", False, 55, 7, 6, 7, 6, 6, 54, 15, 22, 25, 5),
    ("renal", "noncancer", False, 46, 6, 4, 6, 4, 4, 45, 11, 21, 24, 14),
    ("neurodegenerative", "noncancer", False, 56, 9, 7, 9, 7, 7, 55, 8, 28, 29, 12),
    ("hiv", "noncancer", False, 3, 0, 0, 0, 0, 0, 3, 1, 0, 2, 0),
    ("other", "other", False, 817, 1, 1, 1, 1, 1, 812, 173, 328, 304, 45),
]
SUMMARY = pl.DataFrame(ROWS, schema=["group", "class", "aggregate", *COUNTS], orient="row")


def _auditor_hits(out: pl.DataFrame) -> list[str]:
    grid = Grid("cancer_noncancer_summary.csv", "", out.columns, [list(r) for r in out.rows()])
    return [h.how for h in complement_hits(build_table(0, grid), 5)]


def _queried(out: pl.DataFrame) -> list[tuple[str, tuple[str, ...], int]]:
    """Every a - b (- c (- d)) of the counts (all subsets, written here without the auditor's
    code) that is >= 0 in every published row and 1-4 in one: what a checker would query."""
    pub = out.filter(~pl.col("suppressed"))
    found = []
    for a in COUNTS:
        others = [c for c in COUNTS if c != a]
        for k in (1, 2, 3):
            for sub in itertools.combinations(others, k):
                rem = pub[a] - pub.select(pl.sum_horizontal(sub)).to_series()
                if rem.len() and rem.min() >= 0:
                    found += [(a, sub, v) for v in rem.to_list() if 1 <= v <= 4]
    return found


def test_old_protection_fails_the_auditor():
    """The check that the test below is adversarial: without ``reader_differences`` (the
    protection before this change) the auditor flags the aggregate non-cancer row."""
    old = dataclasses.replace(_summary_protection(SUMMARY), reader_differences=False)
    out = protect(SUMMARY, old)
    assert out.filter(~pl.col("suppressed"))["group"].to_list() == ["noncancer", "heart"]
    hits = _auditor_hits(out)
    assert any(
        "home_death_n - referred_n - contact_n - contact_to_death_interval_n" in h for h in hits
    )
    assert ("home_death_n", ("referred_n", "contact_n", "contact_to_death_interval_n"), 1) in (
        _queried(out)
    )


def test_summary_protection_leaves_nothing_to_query():
    out = protect(SUMMARY, _summary_protection(SUMMARY))
    assert _auditor_hits(out) == []
    assert _queried(out) == []
    # primary suppression is unchanged: the small rows stay "<5"
    prim = out.filter(pl.col("suppression") == "primary")["group"].to_list()
    assert prim == ["stroke", "renal", "hiv", "other"]


def test_reader_differences_hide_only_the_row_that_needs_it():
    """A table with many rows: only the row whose overlapping difference is 1-4 (and the
    partner its margin needs) goes; the nested-looking difference is 2 in row b."""
    t = pl.DataFrame(
        {
            "g": ["a", "b", "c", "d"],
            "n": [100, 60, 80, 90],
            "x_n": [40, 30, 20, 50],
            "y_n": [30, 28, 50, 20],
        }
    )
    # n - x_n - y_n: 30, 2, 10, 20 (>= 0 everywhere: nested-looking); no pair is small
    p = Protection(("n", "x_n", "y_n"), [Margin()], differences=False)
    assert _auditor_hits(protect(t, p)) != []
    out = protect(t, dataclasses.replace(p, reader_differences=True))
    assert _auditor_hits(out) == []
    assert out["suppressed"].to_list() == [False, True, True, False]


def test_subtractions_is_the_auditors_enumeration():
    """The protection's list is the auditor's: in the summary (11 count columns) every subset
    of up to 3 subtrahends, none excluded by name."""
    got = set(subtractions(list(COUNTS)))
    assert len(got) == 11 * sum(len(list(itertools.combinations(range(10), k))) for k in (1, 2, 3))


def test_complement_declared_as_before():
    p = _summary_protection(SUMMARY)
    assert p.reader_differences and not p.differences
    assert Complement("n", ("referred_n",)) in p.relations
