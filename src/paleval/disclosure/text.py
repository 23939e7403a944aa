"""Markers, legends and free text under disclosure control.

Primary suppression is shown as ``"<5"`` (threshold-aware), secondary suppression as ``"[s]"``
(en: *suppressed*, da: *skjult*): a secondarily suppressed cell is usually large, and
labelling it "<5" would be false. :func:`mask_note` applies the count rule to the free-text
notes of a disclosed result.
"""

from __future__ import annotations

import re

__all__ = ["LEGEND", "SECONDARY", "legend_rows", "marker", "mask_note"]

SECONDARY = "[s]"
"""Marker of a secondarily suppressed count (any size)."""

LEGEND: dict[str, dict[str, str]] = {
    "en": {
        "primary": "{p}: fewer than {t} persons (primary suppression; 0 is shown as 0)",
        "secondary": (
            "[s]: suppressed to protect a count under {t} that could otherwise be recovered "
            "from totals or differences (secondary suppression; the cell may be large)"
        ),
        "quantile": (
            "[s] in a median (IQR): a median is shown only for at least {m} persons with a "
            "value and quartiles for at least {q} ({t} persons on each side of it)"
        ),
        "rounding": (
            "published counts rounded to the nearest multiple of {r} for presentation; "
            "shares, rates and estimates are computed from the unrounded counts, so rounding "
            "is cosmetic: disclosure control is by suppression"
        ),
    },
    "da": {
        "primary": "{p}: færre end {t} personer (primær diskretionering; 0 vises som 0)",
        "secondary": (
            "[s]: skjult for at beskytte et antal under {t}, som ellers kunne udledes af "
            "totaler eller differenser (sekundær diskretionering; cellen kan være stor)"
        ),
        "quantile": (
            "[s] i en median (IQR): en median vises kun for mindst {m} personer med en værdi og "
            "kvartiler for mindst {q} ({t} personer på hver side af den)"
        ),
        "rounding": (
            "offentliggjorte antal afrundet til nærmeste multiplum af {r} af hensyn til "
            "præsentationen; andele, rater og estimater er beregnet af de uafrundede antal, så "
            "afrundingen er kosmetisk: diskretioneringen sker ved blænding"
        ),
    },
}


def marker(kind: str | None, threshold: int = 5) -> str:
    """The printed marker of a suppressed cell: ``"<5"`` (primary) or ``"[s]"`` (secondary).

    Examples
    --------
    >>> marker("primary"), marker("secondary"), marker("primary", threshold=10)
    ('<5', '[s]', '<10')
    """
    if kind == "primary":
        return f"<{threshold}"
    if kind == "secondary":
        return SECONDARY
    raise ValueError(f"unknown suppression kind {kind!r}; expected 'primary' or 'secondary'")


def legend_rows(
    lang: str = "en",
    threshold: int = 5,
    rounding: int | None = None,
    *,
    quantiles: bool = False,
) -> list[str]:
    """The legend lines explaining the markers, in English or Danish; ``quantiles`` adds the
    rule for medians and quartiles (shown only with ``threshold`` persons on each side).

    Examples
    --------
    >>> legend_rows("da")[0]
    '<5: færre end 5 personer (primær diskretionering; 0 vises som 0)'
    >>> legend_rows("en", quantiles=True)[2][:40]
    '[s] in a median (IQR): a median is shown'
    """
    if lang not in LEGEND:
        raise ValueError(f"lang must be one of {sorted(LEGEND)}, got {lang!r}")
    txt = LEGEND[lang]
    rows = [
        txt["primary"].format(p=marker("primary", threshold), t=threshold),
        txt["secondary"].format(t=threshold),
    ]
    if quantiles:
        rows.append(txt["quantile"].format(m=2 * threshold, q=4 * threshold, t=threshold))
    if rounding:
        rows.append(txt["rounding"].format(r=rounding))
    return rows


_NOUNS = (
    r"persons?|person\(s\)|people|patients?|patient\(s\)|referrals?|referral\(s\)|decedents?|"
    r"deaths?|death\(s\)|rows?|records?|cases?|individuals?|contacts?|admissions?|"
    r"personer|person|patienter|henvisninger|henvisning|døde|dødsfald|tilfælde"
)
_COUNT = re.compile(
    r"(?<![\w.,/-])(\d{1,3}(?:,\d{3})*|\d+)(?![\w.,%/-])(?=\s+(?:"
    + _NOUNS
    + r"|of\s+\d|af\s+\d)\b)",
    re.IGNORECASE,
)
_OF = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})*|\d+) (of|af) (\d{1,3}(?:,\d{3})*|\d+)(?![\w.,])")


def _int(s: str) -> int:
    return int(s.replace(",", ""))


def mask_note(text: str, threshold: int = 5) -> str:
    """Apply the count rule to a free-text note: a count of persons (a number followed by a
    word such as "persons", "referral(s)", "patients", "personer", or "a of b") of 1 to
    ``threshold - 1`` becomes ``"<5"``; in "a of b" with ``b - a`` of 1 to ``threshold - 1``,
    ``a`` becomes ``"[s]"`` (the complement would be small).

    Numbers that are not counts of persons (days, years, codes, "event 3") are left alone.

    Examples
    --------
    >>> mask_note("4 persons with unknown place of death excluded")
    '<5 persons with unknown place of death excluded'
    >>> mask_note("1 referral(s) dated after death excluded; window 3 days")
    '<5 referral(s) dated after death excluded; window 3 days'
    >>> mask_note("persons with event 3 (a new cancer): 12 persons excluded")
    'persons with event 3 (a new cancer): 12 persons excluded'
    >>> mask_note("outcome x: 1,197 of 1,200 analysed")
    'outcome x: [s] of 1,200 analysed'
    """

    def of(m: re.Match[str]) -> str:
        a, b = _int(m.group(1)), _int(m.group(3))
        if 0 < a < threshold:
            return f"<{threshold} {m.group(2)} {m.group(3)}"
        if 0 < b - a < threshold:
            return f"{SECONDARY} {m.group(2)} {m.group(3)}"
        return m.group(0)

    text = _OF.sub(of, text)

    def count(m: re.Match[str]) -> str:
        v = _int(m.group(1))
        return f"<{threshold}" if 0 < v < threshold else m.group(0)

    return _COUNT.sub(count, text)
