"""One visual style for every paleval figure, labels in English or Danish, reproducible files.

- :data:`PALETTE` is the Okabe-Ito colour-blind-safe palette; categories keep their colour
  across figures (:func:`colour_for`).
- :func:`label` translates paleval's category and variable keys (``"home"``, ``"nursing_home"``,
  ``"education"``) into English or Danish display labels.
- :func:`figure` opens a figure in the house style; :func:`save_figure` writes PNG/SVG/PDF files
  that are byte-identical between runs (no timestamps, fixed SVG ids, DejaVu Sans fonts that
  ship with matplotlib).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "LABELS",
    "PALETTE",
    "STYLE",
    "colour_for",
    "decimal_comma",
    "figure",
    "label",
    "save_figure",
    "style",
]

PALETTE: list[str] = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
    "#999999",  # grey
]
"""Okabe & Ito (2008) colour-blind-safe palette, in the order paleval uses it."""

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 150.0,
    "savefig.bbox": "tight",
    "svg.hashsalt": "paleval",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "axes.prop_cycle": None,  # set from PALETTE in style()
}
"""matplotlib rcParams of the house style."""

# Display labels for keys used across paleval (register codes are mapped to these keys).
LABELS: dict[str, tuple[str, str]] = {
    # place of death
    "home": ("Home", "Eget hjem"),
    "nursing_home": ("Nursing home", "Plejebolig"),
    "hospital": ("Hospital", "Hospital"),
    "hospice": ("Hospice", "Hospice"),
    "other": ("Other", "Andet"),
    "unknown": ("Unknown", "Ukendt"),
    "out_of_hospital": ("Out of hospital", "Uden for hospital"),
    "place_of_death": ("Place of death", "Dødssted"),
    # diagnosis groups
    "cancer": ("Cancer", "Kræft"),
    "noncancer": ("Non-cancer", "Ikke-kræft"),
    "heart": ("Heart failure/disease", "Hjertesygdom"),
    "respiratory": ("Respiratory disease", "Lungesygdom"),
    "dementia": ("Dementia", "Demens"),
    "stroke": ("Stroke", "Apopleksi"),
    "liver": ("Liver disease", "Leversygdom"),
    "renal": ("Renal disease", "Nyresygdom"),
    "neurodegenerative": ("Neurodegenerative disease", "Neurodegenerativ sygdom"),
    "hiv": ("HIV/AIDS", "HIV/AIDS"),
    "cause_group": ("Diagnosis group", "Diagnosegruppe"),
    # education and income
    "education": ("Education", "Uddannelse"),
    "lower_secondary": ("Lower secondary", "Grundskole"),
    "upper_secondary_vocational": ("Upper secondary/vocational", "Gymnasial/erhvervsfaglig"),
    "short_medium_higher": ("Short/medium higher", "Kort/mellemlang videregående"),
    "long_higher": ("Long higher", "Lang videregående"),
    "income_quartile": ("Income quartile", "Indkomstkvartil"),
    "income_quintile": ("Income quintile", "Indkomstkvintil"),
    "living_alone": ("Living alone", "Bor alene"),
    "cohabiting": ("Cohabiting", "Samboende"),
    "origin": ("Origin", "Herkomst"),
    "danish": ("Danish origin", "Dansk oprindelse"),
    "immigrant": ("Immigrant", "Indvandrer"),
    "descendant": ("Descendant", "Efterkommer"),
    "region": ("Region", "Region"),
    "sex": ("Sex", "Køn"),
    "female": ("Female", "Kvinde"),
    "male": ("Male", "Mand"),
    "age_group": ("Age group", "Aldersgruppe"),
    "year": ("Year", "År"),
    "death_year": ("Year of death", "Dødsår"),
    "diagnosis_year": ("Year of diagnosis", "Diagnoseår"),
    # SPC
    "spc": ("Specialised palliative care", "Specialiseret palliativ indsats"),
    "spc_referred": ("Referred to SPC", "Henvist til SPI"),
    "spc_admitted": ("Admitted to SPC", "Modtaget i SPI"),
    "spc_unit": ("SPC unit", "SPI-enhed"),
    "none": ("None", "Ingen"),
    "referral": ("Referral", "Henvisning"),
    "death": ("Death", "Død"),
    "contact": ("First contact", "Første kontakt"),
    "days": ("Days", "Dage"),
    "months": ("Months", "Måneder"),
    "cumulative_incidence": ("Cumulative incidence", "Kumuleret incidens"),
    "proportion": ("Proportion", "Andel"),
    "percent": ("Per cent", "Procent"),
    "standard": ("Standard", "Standard"),
    "target": ("Target", "Mål"),
    "control_limits": ("control limits", "kontrolgrænser"),
    # GP involvement
    "gp_home_visit_category": ("GP home visits, last 90 days", "Sygebesøg, sidste 90 dage"),
    "gp_contact_30d": ("GP contact, last 30 days", "Lægekontakt, sidste 30 dage"),
    "gp_ooh_30d": ("Out-of-hours contact, last 30 days", "Vagtlægekontakt, sidste 30 dage"),
    "terminal_declaration": ("Terminal declaration", "Terminalerklæring"),
    "propensity_quartile": (
        "Practice home-visit propensity (quartile)",
        "Praksis' tilbøjelighed til sygebesøg (kvartil)",
    ),
    "prevalence_ratio": ("Prevalence ratio", "Prævalensratio"),
    "odds_ratio": ("Odds ratio", "Oddsratio"),
    "hazard_ratio": ("Hazard ratio", "Hazardratio"),
    "home_death": ("Home death", "Død i eget hjem"),
    "late_referral": ("Late referral", "Sen henvisning"),
    # analyses.indicators (DPD quality indicators, waiting time)
    "unit_type": ("SPC unit type", "SPI-enhedstype"),
    "unit": ("SPC unit", "SPI-enhed"),
    "palliativt_team": ("Hospital palliative team", "Palliativt team"),
    "palliativ_afdeling": ("Hospital palliative unit", "Palliativ enhed/afdeling"),
    "diagnosis": ("Diagnosis group", "Diagnosegruppe"),
    "indicator": ("Indicator", "Indikator"),
    # end analyses.indicators
    # analyses.referral (time to referral, SPC timing before death)
    "all": ("All", "Alle"),
    "fine_gray": ("Fine-Gray (subdistribution HR)", "Fine-Gray (subfordelings-HR)"),
    "cause_specific": ("Cause-specific Cox", "Årsagsspecifik Cox"),
    "diagnosis_group": ("Diagnosis group", "Diagnosegruppe"),
    "cancer_site": ("Cancer site", "Kræftlokalisation"),
    "cohort": ("Cohort", "Kohorte"),
    "period": ("Calendar period", "Kalenderperiode"),
    "referral_to_death": ("Referral to death", "Henvisning til død"),
    "contact_to_death": ("First contact to death", "Første kontakt til død"),
    # end analyses.referral
    # analyses.place_of_death (place of death and the GP's involvement)
    "yes": ("Yes", "Ja"),
    "no": ("No", "Nej"),
    "crude": ("Crude", "Ujusteret"),
    "adjusted": ("Adjusted", "Justeret"),
    "out_of_hospital_death": ("Death out of hospital", "Død uden for hospital"),
    "pod_all_decedents": ("All decedents", "Alle afdøde"),
    "pod_distribution_title": (
        "Place of death by GP involvement",
        "Dødssted efter praktiserende læges involvering",
    ),
    "pod_ratio_ci": ("Ratio ({c:g}% CI)", "Ratio ({c:g} % KI)"),
    "pod_standardised": ("standardised", "standardiseret"),
    "pod_standardised_proportion": ("Standardised proportion", "Standardiseret andel"),
    # end analyses.place_of_death
    # analyses.inequality and analyses.cancer_noncancer (social inequality; diagnosis groups)
    "spc_hospice": ("Admitted to hospice", "Modtaget på hospice"),
    "spc_hospital": (
        "Admitted to hospital palliative team/unit",
        "Modtaget af palliativt team/enhed på hospital",
    ),
    "gp_home_visit": ("GP home visit, last 90 days", "Sygebesøg, sidste 90 dage"),
    "non_immigrant": ("Danish origin or descendant", "Dansk oprindelse eller efterkommer"),
    "region_code": ("Region", "Region"),
    "ineq_crude": ("Crude", "Rå"),
    "ineq_standardised": ("Age/sex standardised", "Alders-/kønsstandardiseret"),
    "ineq_by_social_position": ("by social position", "efter social position"),
    "ineq_reference": ("reference", "reference"),
    "ineq_ratio_ci": ("Ratio (95% CI)", "Ratio (95 % CI)"),
    "ineq_adjusted_ratios": ("adjusted ratios", "justerede ratioer"),
    "dg_referred": ("Referred to SPC", "Henvist til SPI"),
    "dg_contact": ("Contact with SPC", "Kontakt med SPI"),
    "dg_group": ("Diagnosis group", "Diagnosegruppe"),
    "dg_overview_title": (
        "Specialised palliative care by diagnosis group",
        "Specialiseret palliativ indsats efter diagnosegruppe",
    ),
    "dg_trends_title": (
        "Contact with specialised palliative care by year of death",
        "Kontakt med specialiseret palliativ indsats efter dødsår",
    ),
    "dg_place_title": ("Place of death by diagnosis group", "Dødssted efter diagnosegruppe"),
    "dg_per_cent_of_deaths": ("Per cent of deaths", "Procent af dødsfald"),
    "dg_other_causes": ("Other causes", "Andre dødsårsager"),
    # end analyses.inequality and analyses.cancer_noncancer
    # analyses.trajectories: care in the last year of life
    "hospital_nights": ("Nights in hospital", "Nætter på hospital"),
    "acute_admissions": ("Acute admissions", "Akutte indlæggelser"),
    "emergency_contacts": ("Emergency contacts", "Akutte ambulante kontakter"),
    "gp_contacts_daytime": ("GP contacts, daytime", "Kontakter med egen læge, dagtid"),
    "gp_home_visits": ("GP home visits", "Sygebesøg ved egen læge"),
    "gp_out_of_hours": ("Out-of-hours GP contacts", "Kontakter med lægevagten"),
    "opioid_dispensings": ("Opioid prescriptions dispensed", "Indløste opioidrecepter"),
    "per_person": ("Per person", "Pr. person"),
    "weeks_before_death": ("Weeks before death", "Uger før død"),
    "share_of_decedents": ("Share of decedents", "Andel af afdøde"),
    "aggressiveness_title": (
        "Aggressive care at the end of life",
        "Aggressiv behandling i livets sidste tid",
    ),
    "emergency_contacts_gt1": (
        "More than one emergency contact",
        "Mere end én akut ambulant kontakt",
    ),
    "acute_admissions_gt1": ("More than one acute admission", "Mere end én akut indlæggelse"),
    "hospital_nights_gt14": ("More than 14 nights in hospital", "Mere end 14 nætter på hospital"),
    "death_in_hospital": ("Death in hospital", "Død på hospital"),
    # analyses.evaluation: interrupted time series, difference-in-differences
    "observed": ("Observed", "Observeret"),
    "fitted": ("Fitted", "Modelleret"),
    "counterfactual": ("Without the intervention", "Uden interventionen"),
    "intervention": ("Intervention", "Intervention"),
    "month": ("Month", "Måned"),
    "quarter": ("Quarter", "Kvartal"),
    "practices_ranked": ("Practices, ranked", "Praksis, rangordnet"),
    "odds_ratio_vs_typical": (
        "Odds ratio against the typical practice",
        "Oddsratio over for den typiske praksis",
    ),
    "rate_ratio_vs_typical": (
        "Rate ratio against the typical practice",
        "Rateratio over for den typiske praksis",
    ),
    "persons_n": ("Persons (n)", "Personer (n)"),
    "gp_home_visits_90d": ("GP home visits, last 90 days", "Sygebesøg, sidste 90 dage"),
    "years_since_adoption": ("Years since adoption", "År efter indførelse"),
    "effect_on_share": ("Effect on the share", "Effekt på andelen"),
    # publication tables (analyses._format): column headers and footnotes
    "median (IQR)": ("Median (IQR)", "Median (IKI)"),
    "median_iqr": ("median (IQR)", "median (IKI)"),
    "estimate": ("Estimate", "Estimat"),
    "ratio": ("Ratio", "Ratio"),
    "share": ("Share", "Andel"),
    "events": ("Events", "Hændelser"),
    "numerator": ("Numerator", "Tæller"),
    "denominator": ("Denominator", "Nævner"),
    "not_met": ("Not met", "Ikke opfyldt"),
    "met": ("Standard met", "Standard opfyldt"),
    "p_value": ("P-value", "P-værdi"),
    "statistic": ("Test statistic", "Teststørrelse"),
    "df": ("Degrees of freedom (df)", "Frihedsgrader (df)"),
    "term": ("Term", "Term"),
    "variable": ("Variable", "Variabel"),
    "level": ("Level", "Niveau"),
    "group": ("Group", "Gruppe"),
    "reference": ("Reference", "Reference"),
    "model": ("Model", "Model"),
    "measure": ("Measure", "Mål"),
    "outcome": ("Outcome", "Udfald"),
    "exposure": ("Exposure", "Eksponering"),
    "adjustment": ("Adjustment", "Justering"),
    "contrast": ("Contrast", "Kontrast"),
    "time": ("Time (days)", "Tid (dage)"),
    "risk": ("Risk", "Risiko"),
    "difference": ("Difference", "Forskel"),
    "median": ("Median (days)", "Median (dage)"),
    "median_days": ("Median (days)", "Median (dage)"),
    "persons": ("Persons", "Personer"),
    "total": ("Total", "I alt"),
    "week_before": ("Week before death (1 = last)", "Uge før død (1 = sidste)"),
    "crude_risk": ("Crude risk", "Ujusteret risiko"),
    "parameter": ("Parameter", "Parameter"),
    "label": ("Label", "Betegnelse"),
    "standard_met": ("Standard met", "Standard opfyldt"),
    "interval": ("Interval", "Interval"),
    "bin": ("Days before death", "Dage før død"),
    "step": ("Step", "Trin"),
    "excluded": ("Excluded", "Ekskluderet"),
    "class": ("Class", "Klasse"),
    "aggregate": ("Aggregate", "Samlet gruppe"),
    "place": ("Place of death", "Dødssted"),
    "threshold": ("Threshold (days)", "Grænse (dage)"),
    "late": ("Late", "Sen"),
    "within": ("Within the standard", "Inden for standarden"),
    "later": ("Later", "Senere"),
    "known": ("Known", "Kendt"),
    "spc_none_or_late": (
        "No or late (<3 days) specialised palliative care",
        "Ingen eller sen (<3 dage) specialiseret palliativ indsats",
    ),
    # label values of raw tables (Table 1 variables, funnel flags, model parameters, ...),
    # English as before (the key written out), so English tables are unchanged
    "age": ("Age", "Alder"),
    "bed_days_30d": ("Bed days 30d", "Sengedage, sidste 30 dage"),
    "charlson_group": ("Charlson group", "Charlson-gruppe"),
    "nursing_home_resident": ("Nursing home resident", "Plejehjemsbeboer"),
    "mean (SD)": ("Mean (SD)", "Gennemsnit (SD)"),
    "above": ("Above", "Over"),
    "below": ("Below", "Under"),
    "missing": ("Missing", "Mangler"),
    "groups": ("Groups", "Grupper"),
    "separate": ("Separate", "Hver for sig"),
    "icc": ("Icc", "ICC"),
    "median_odds_ratio": ("Median odds ratio", "Median-oddsratio"),
    "median_rate_ratio": ("Median rate ratio", "Median-rateratio"),
    "sigma": ("Sigma", "Sigma (SD mellem praksis)"),
    # the exclusion steps of the decedent flow (cohort.decedents, the default minimum age)
    "Excluded: no cause-of-death record": (
        "Excluded: no cause-of-death record",
        "Ekskluderet: ingen dødsårsagsregistrering",
    ),
    "Excluded: not resident the year before death": (
        "Excluded: not resident the year before death",
        "Ekskluderet: ikke bosat i Danmark året før død",
    ),
    "Excluded: implausible death date (before birth, or over 115 years of age)": (
        "Excluded: implausible death date (before birth, or over 115 years of age)",
        "Ekskluderet: usandsynlig dødsdato (før fødsel eller over 115 år)",
    ),
}


PATTERN_LABELS: tuple[tuple[re.Pattern[str], tuple[str, str]], ...] = (
    # labels that carry a parameter (the study period, the minimum age): the decedent flow
    (
        re.compile(r"Deaths (\S+) to (\S+) \(DOD\)"),
        ("Deaths {} to {} (DOD)", "Dødsfald {} til {} (DOD)"),
    ),
    (
        re.compile(r"Excluded: aged under (\d+) at death"),
        ("Excluded: aged under {} at death", "Ekskluderet: under {} år ved død"),
    ),
)
"""Labels with a parameter: a pattern, and the English and Danish text with its groups."""


def label(key: Any, lang: str = "en") -> str:
    """Display label for a paleval key in English (``"en"``) or Danish (``"da"``).

    Unknown keys are shown as they are, with underscores as spaces and a capital first letter.

    Examples
    --------
    >>> label("nursing_home"), label("nursing_home", "da")
    ('Nursing home', 'Plejebolig')
    >>> label("spc_wait_days")
    'Spc wait days'
    >>> label("Deaths 2015-01-01 to 2019-12-31 (DOD)", "da")
    'Dødsfald 2015-01-01 til 2019-12-31 (DOD)'
    """
    if lang not in ("en", "da"):
        raise ValueError(f"lang must be 'en' or 'da', got {lang!r}")
    text = str(key)
    if text in LABELS:
        return LABELS[text][0 if lang == "en" else 1]
    for pattern, (en, da) in PATTERN_LABELS:
        m = pattern.fullmatch(text)
        if m:
            return (en if lang == "en" else da).format(*m.groups())
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def decimal_comma(fig: Any) -> Any:
    """Danish number format on every numeric axis of ``fig``: decimal comma (``0,25``).

    Category axes (fixed labels) are left alone. Returns ``fig``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0.0, 0.5])
    >>> fig = decimal_comma(fig); fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_yticklabels()][1:3]
    ['0,0', '0,1']
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FixedFormatter, Formatter, NullFormatter

    class _Comma(Formatter):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            self.inner.set_axis(axis)
            self.axis = axis

        def format_ticks(self, values: Any) -> list[str]:
            return [_comma(s) for s in self.inner.format_ticks(values)]

        def __call__(self, x: Any, pos: Any = None) -> str:
            return _comma(self.inner(x, pos))

        def get_offset(self) -> str:
            return _comma(self.inner.get_offset())

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which in ("major", "minor"):
                get = getattr(axis, f"get_{which}_formatter")
                fmt = get()
                if isinstance(fmt, FixedFormatter | NullFormatter | _Comma):
                    continue
                getattr(axis, f"set_{which}_formatter")(_Comma(fmt))
    return fig


def _comma(text: str) -> str:
    import re

    return re.sub(r"(?<=\d)\.(?=\d)", ",", text)


def colour_for(category: Any, categories: Sequence[Any]) -> str:
    """The colour of ``category`` among ``categories`` (its position in :data:`PALETTE`).

    Examples
    --------
    >>> colour_for("b", ["a", "b"])
    '#E69F00'
    """
    idx = list(categories).index(category)
    return PALETTE[idx % len(PALETTE)]


def _rc() -> dict[str, Any]:
    from cycler import cycler

    rc = dict(STYLE)
    rc["axes.prop_cycle"] = cycler(color=PALETTE)
    return rc


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager that applies the house style to figures created inside it.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with style():
    ...     plt.rcParams["font.family"]
    ['DejaVu Sans']
    """
    import matplotlib.pyplot as plt

    with plt.rc_context(_rc()):
        yield


def figure(width: float = 6.4, height: float = 4.0, nrows: int = 1, ncols: int = 1) -> Any:
    """A new figure and axes in the house style: ``(fig, ax)`` (``ax`` an array if several).

    Examples
    --------
    >>> fig, ax = figure(4, 3)
    >>> ax.spines["top"].get_visible()
    False
    """
    import matplotlib.pyplot as plt

    with style():
        fig, ax = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=True)
    return fig, ax


_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def save_figure(fig: Any, path: str | Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``; byte-identical across runs.

    Timestamps and software versions are left out of the file metadata and SVG element ids
    are derived from a fixed salt, so two runs with the same data give the same bytes.

    Examples
    --------
    >>> import tempfile, hashlib
    >>> fig, ax = figure(2, 2); _ = ax.plot([0, 1], [0, 1])
    >>> d = tempfile.mkdtemp()
    >>> a = save_figure(fig, f"{d}/x", ["svg"])[0].read_bytes()
    >>> b = save_figure(fig, f"{d}/x", ["svg"])[0].read_bytes()
    >>> a == b
    True
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    out = []
    with plt.rc_context({"svg.hashsalt": "paleval", "svg.fonttype": "path", "pdf.fonttype": 42}):
        for fmt in formats:
            if fmt not in _METADATA:
                raise ValueError(f"unsupported figure format {fmt!r}; use png, svg or pdf")
            target = path.with_suffix(f".{fmt}")
            target.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(target, format=fmt, metadata=_METADATA[fmt], dpi=150, bbox_inches="tight")
            out.append(target)
    return out
