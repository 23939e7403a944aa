"""Reading numbers the way an output checker does: cells, markers, "n (x %)" and free text.

The auditor trusts no declaration. It decides from a column's name and values whether the
column holds person counts, parses formatted cells such as ``"3 (0.5%)"`` or ``"1.151 (46,3 %)"``
(Danish decimal comma) and finds counts in free text ("4 persons ... excluded", "n = 3").
Exported tables are aggregates (hundreds of rows), so cells are parsed one by one here; nothing
in this module touches register records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Cell", "classify_column", "parse_cell", "text_counts"]

# an integer with optional thousands groups ("2,484", "2.484", "2 484")
_INT = r"\d{1,3}(?:[,.\u00a0 ]\d{3})+|\d+"
_DEC = r"\d+(?:[.,]\d+)?"
_N_PCT = re.compile(rf"^\s*({_INT})\s*\(\s*({_DEC})\s*%\s*\)\s*$")
_PCT = re.compile(rf"^\s*({_DEC})\s*%\s*$")
_BARE_INT = re.compile(r"^\s*(\d{1,3}(?:,\d{3})+|\d+)\s*$")
_BARE_DEC = re.compile(r"^\s*[-+]?\d+[.,]\d+\s*$")
_MARKER = re.compile(
    r"^\s*(?:[<≤]\s*\d+(?:\s*\(.*\))?|[-–—‐]+|\.{1,3}|\*+|[sxu]|n/?a|supp(?:ressed)?|masked"
    r"|[†‡§#]|\(s\)|\[s\]|\(\*\)|[<≤]\s*\d+\s*%?)\s*$",
    re.IGNORECASE,
)

_COUNT_WORDS = frozenset(
    "n count counts antal events event deaths death died patients patient persons person "
    "people excluded cases numerator denominator at_risk risk competing censored observed "
    "referred contacted decedents decedent individuals total personer patienter døde "
    "udelukket ekskluderet frequency freq number".split()
)
_NON_COUNT_WORDS = frozenset(
    "year years år aar period age alder day days dage dag week weeks uge uger month months "
    "time tid duration median mean sd iqr q1 q3 p25 p75 percentile min max code kode id icd "
    "sks pnr cpr step trin rank order index quartile quintile tertile decile level category "
    "class stage grade score df dof cause indicator standard threshold lag seed version "
    "estimate ratio or hr rr irr coef beta se std error z p value pvalue statistic conf low "
    "high lower upper share pct percent procent prop proportion rate andel weight expected "
    "smr cluster kommune reference ref term variable label % indikator indkomstkvartil "
    "indkomstkvintil kvartil kvintil niveau betegnelse frihedsgrader".split()
)
_SHARE_WORDS = frozenset("share pct percent procent prop proportion andel".split())
_RISK_WORDS = frozenset("estimate risk cif".split())
_PCT_WORDS = frozenset("pct percent procent %".split())


def name_tokens(name: str) -> list[str]:
    """Lower-case words of a column name (split at ``_``, spaces, brackets, ``=``).

    >>> name_tokens("Cancer (n=615)"), name_tokens("home_death_n")
    (['cancer', 'n', '615'], ['home', 'death', 'n'])
    """
    return [t for t in re.split(r"[_\s()=,:/.-]+", name.lower()) if t]


def count_named(name: str) -> bool:
    """Whether a column name says counts: its first word is ``n``/``antal``/``number`` or its
    last word is a count word (``deaths``, ``patients``, ``excluded``, ``referral_n`` ...).

    Examples
    --------
    >>> [count_named(c) for c in ["n_level", "home_death_n", "deaths", "death_median"]]
    [True, True, True, False]
    """
    toks = name_tokens(name)
    return bool(toks) and (toks[0] in ("n", "antal", "number") or toks[-1] in _COUNT_WORDS)


def non_count_named(name: str) -> bool:
    """Whether a column name says something other than a count (year, age, days, median...).

    >>> non_count_named("death_year"), non_count_named("patients")
    (True, False)
    """
    return any(t in _NON_COUNT_WORDS for t in name_tokens(name))


def share_scale_named(name: str, values: list[float]) -> bool:
    """Whether a column is a share (0-1), a percentage (0-100) or a risk estimate (0-1).

    >>> share_scale_named("share", [0.2, 0.5]), share_scale_named("estimate", [0.8, 1.4])
    (True, False)
    """
    toks = set(name_tokens(name))
    if not values or min(values) < 0:
        return False
    if toks & _PCT_WORDS or "rate" in toks:
        return max(values) <= 100 or "rate" in toks
    if toks & _SHARE_WORDS or toks & _RISK_WORDS:
        return max(values) <= 1
    return False


_STAT_ROW = re.compile(
    r"\b(?:mean|median|sd|iqr|percentile|min|max|gennemsnit|spredning|range|q1|q3)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cell:
    """One parsed cell: ``kind`` is ``num``, ``npct`` (``"n (x %)"``), ``pct``, ``hidden``
    (empty or a suppression marker) or ``text``; ``value`` is the number (the count of an
    ``npct`` cell), ``pct``/``pct_half`` the percentage and half its last printed digit.

    Examples
    --------
    >>> parse_cell("3 (0,5 %)")
    Cell(kind='npct', value=3.0, pct=0.5, pct_half=0.05, text='3 (0,5 %)')
    """

    kind: str
    value: float | None = None
    pct: float | None = None
    pct_half: float | None = None
    text: str = ""


def _decimals(s: str) -> int:
    m = re.search(r"[.,](\d+)$", s.strip())
    return len(m.group(1)) if m else 0


def _int_of(s: str) -> float:
    return float(re.sub(r"[,.\u00a0 ]", "", s))


def _dec_of(s: str) -> float:
    return float(s.replace(",", "."))


def _half(decimals: int) -> float:
    return 0.5 * 10.0 ** (-decimals)


def _float_half(v: float) -> float:
    r = repr(float(v))
    if "e" in r or "E" in r:
        return abs(v) * 1e-12 + 1e-300
    return _half(len(r.split(".")[1]) if "." in r else 0)


def parse_cell(raw: object) -> Cell:
    """Parse one exported cell the way a reader would.

    Native numbers stay numbers; strings are read as ``"n (x %)"`` / ``"n (x,x %)"``, ``"x %"``,
    integers with thousands separators (``"2,484"``), decimals (point or comma), suppression
    markers (``"<5"``, ``"-"``, ``".."``, ``"*"``, ``"s"``) or text. Empty cells are hidden.

    Examples
    --------
    >>> parse_cell("<5").kind, parse_cell("2,484").value, parse_cell("12.5 %").pct
    ('hidden', 2484.0, 12.5)
    >>> parse_cell(None).kind, parse_cell(7).value, parse_cell("Female").kind
    ('hidden', 7.0, 'text')
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return Cell("hidden")
    if isinstance(raw, bool):
        return Cell("text", text=str(raw))
    if isinstance(raw, int | float):
        return Cell("num", float(raw), pct_half=_float_half(float(raw)))
    s = str(raw).strip()
    if not s:
        return Cell("hidden")
    if _MARKER.match(s):
        return Cell("hidden", text=s)
    m = _N_PCT.match(s)
    if m:
        pct = m.group(2)
        return Cell("npct", _int_of(m.group(1)), _dec_of(pct), _half(_decimals(pct)), s)
    m = _PCT.match(s)
    if m:
        return Cell("pct", None, _dec_of(m.group(1)), _half(_decimals(m.group(1))), s)
    m = _BARE_INT.match(s)
    if m:
        return Cell("num", _int_of(m.group(1)), pct_half=0.5, text=s)
    if _BARE_DEC.match(s):
        v = _dec_of(s)
        return Cell("num", v, pct_half=_half(_decimals(s)), text=s)
    return Cell("text", text=s)


def is_integer(v: float | None) -> bool:
    """Whether a number is integer valued (``3.0`` is, ``3.5`` is not).

    >>> is_integer(3.0), is_integer(3.5), is_integer(None)
    (True, False, False)
    """
    return v is not None and math.isfinite(v) and abs(v - round(v)) < 1e-9


def classify_column(name: str, cells: list[Cell], raw: list[object] | None = None) -> str:
    """``"count"``, ``"share"`` or ``"other"``, decided from the name and the values.

    A count column holds only non-negative integers, ``"n (x %)"`` cells and suppression
    markers (a column turned to text by ``"<5"`` is still a count column). Its name must not
    say year, age, days, time, code, rank, step, estimate, share or the like, and a column of
    values that all look like calendar years (1900-2100) or codes with leading zeros is not a
    count unless its name says so. Formatted wide tables whose cells mix ``"n (x %)"`` with
    summary statistics (``"72.7 (13.9)"``) are count columns when most cells are counts.

    Examples
    --------
    >>> cells = [parse_cell(v) for v in [3, "<5", 40]]
    >>> classify_column("patients", cells), classify_column("age", cells)
    ('count', 'other')
    >>> classify_column("year", [parse_cell(v) for v in [2019, 2020]])
    'other'
    >>> classify_column("share", [parse_cell(v) for v in [0.2, 0.5]])
    'share'
    """
    nums = [c for c in cells if c.kind in ("num", "npct")]
    if not nums:
        return "other"
    if share_scale_named(name, [c.value for c in nums if c.value is not None]):
        return "share"
    named = count_named(name)
    if non_count_named(name) and not named:
        return "other"
    ints = [c for c in nums if is_integer(c.value) and (c.value or 0) >= 0]
    texts = [c for c in cells if c.kind in ("text", "pct")]
    if len(ints) != len(nums):
        return "other"
    if texts and len(ints) < 2 * len(texts):
        return "other"
    if raw is not None and any(isinstance(r, str) and re.match(r"^0\d", r.strip()) for r in raw):
        return "other"
    if not named and all(1900 <= (c.value or 0) <= 2100 for c in ints):
        return "other"
    return "count"


def is_stat_row(labels: list[str]) -> bool:
    """Whether a row's labels say it holds a summary statistic (mean, median, SD, IQR...).

    >>> is_stat_row(["Age", "Median (IQR)"]), is_stat_row(["Age group", "80-89"])
    (True, False)
    """
    return any(_STAT_ROW.search(lab) for lab in labels)


# --- free text ------------------------------------------------------------------------------

_NOUNS = (
    r"persons?|people|patients?|decedents?|deaths?|individuals?|cases?|referrals?|"
    r"person\(s\)|patient\(s\)|referral\(s\)|death\(s\)|case\(s\)|excluded|died|"
    r"personer|patienter|døde|dødsfald|henvisninger|henviste|borgere|udelukket|ekskluderet"
)
_TEXT_RULES = (
    ("n =", re.compile(rf"\b[nN]\s*=\s*({_INT})(?![\d.,]*\s*%)")),
    (
        "count noun",
        re.compile(
            rf"(?<![\w.,/-])({_INT})\s+(?:[\w()'/-]+\s+){{0,3}}?(?:{_NOUNS})\b", re.IGNORECASE
        ),
    ),
    (
        "label:",
        re.compile(
            rf"\b(?:excluded|missing|unknown|udelukket|ekskluderet|manglende)\s*[:=(]\s*({_INT})\b",
            re.IGNORECASE,
        ),
    ),
    ("n (x %)", re.compile(rf"(?<![\w.,])({_INT})\s*\(\s*{_DEC}\s*%\s*\)")),
    ("k of n", re.compile(rf"(?<![\w.,])({_INT})\s+(?:of|af|ud af)\s+(?:{_INT})\b", re.IGNORECASE)),
)
_PCT_OF = re.compile(rf"({_DEC})\s*%\s*(?:of|af)\s+(?:the\s+|n\s*=\s*)?({_INT})\b", re.IGNORECASE)


def text_counts(text: str) -> list[tuple[int, str]]:
    """Counts stated in free text, with the phrase that states each.

    Recognised: ``n = 4``; a number followed within three words by a person noun ("4 persons
    with unknown place of death excluded", "1 referral(s) dated after death", Danish nouns
    too); ``excluded: 3``; ``"3 (0.5%)"``; ``"3 of 24"``; and ``"x % of N"``, whose count is
    recovered as x/100 * N when the printed precision pins it. Numbers glued to other numbers
    (dates, ranges like 18-49, decimals) are not read as counts.

    Examples
    --------
    >>> text_counts("note: 4 persons with unknown place of death excluded")
    [(4, '4 persons')]
    >>> text_counts("12.5 % of 24 decedents")
    [(24, '24 decedents'), (3, '12.5 % of 24')]
    >>> text_counts("aged 18-49 in 2019, 3.5 days")
    []
    """
    out: list[tuple[int, str]] = []
    seen: set[tuple[int, int]] = set()
    for _, rx in _TEXT_RULES:
        for m in rx.finditer(text):
            key = (m.start(1), m.end(1))
            if key in seen:
                continue
            seen.add(key)
            out.append((int(_int_of(m.group(1))), m.group(0).strip()))
    for m in _PCT_OF.finditer(text):
        k = pinned_numerator(
            _dec_of(m.group(1)) / 100, _half(_decimals(m.group(1))) / 100, _int_of(m.group(2))
        )
        if k is not None:
            out.append((k, m.group(0).strip()))
    return out


def pinned_numerator(share: float, half: float, denominator: float) -> int | None:
    """The integer numerator a printed share and its denominator leave, if only one.

    The share printed with precision ``half`` (half its last digit) lies in
    ``[share - half, share + half]``; times the denominator that gives an interval of
    numerators. Returns the integer when exactly one lies in it.

    Examples
    --------
    >>> pinned_numerator(0.125, 0.0005, 24), pinned_numerator(0.3, 0.05, 200)
    (3, None)
    """
    lo = (share - half) * denominator
    hi = (share + half) * denominator
    cands = range(max(0, math.ceil(lo - 1e-9)), math.floor(hi + 1e-9) + 1)
    return cands[0] if len(cands) == 1 else None


def numerator_range(share: float, half: float, denominator: float) -> tuple[int, int] | None:
    """The integer numerators compatible with a printed share of a denominator (or None).

    Examples
    --------
    >>> numerator_range(0.02, 0.005, 100)
    (2, 2)
    >>> numerator_range(0.0506384845, 5e-11, 317) is None
    True
    """
    lo = max(0, math.ceil((share - half) * denominator - 1e-9))
    hi = math.floor((share + half) * denominator + 1e-9)
    return (lo, hi) if lo <= hi else None
