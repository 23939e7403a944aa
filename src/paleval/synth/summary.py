"""A short human-readable summary of a generated data set (printed by ``paleval synth``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["summary_text"]


def summary_text(truth: dict[str, Any], out: Path) -> str:
    """Summarise a generated data set from its truth dictionary.

    Examples
    --------
    >>> t = {"counts": {"persons": 10, "decedents": 2, "adult_decedents": 2,
    ...      "decedents_by_year": {"2010": 2}, "adult_decedents_by_cause_group": {"cancer": 2},
    ...      "place_of_death": {"home": 2}, "spc_referred_persons": 1,
    ...      "spc_admitted_persons": 1, "practices": 1, "rows": {"bef": 10}},
    ...      "defects": {"x": 1}, "generator": {"config": {"preset": "tiny", "seed": 1}},
    ...      "realism": {"households": {"enabled": True, "couples": 3},
    ...                  "migration": {"enabled": False}}}
    >>> text = summary_text(t, Path("out"))
    >>> "10 persons" in text, "households: on (couples: 3)" in text, "migration: off" in text
    (True, True, True)
    """
    c = truth["counts"]
    cfg = truth["generator"]["config"]
    dec = max(c["decedents"], 1)
    lines = [
        f"Synthetic registers written to {out} (preset {cfg['preset']}, seed {cfg['seed']})",
        f"  {c['persons']:,} persons, {c['practices']:,} general practices, "
        f"{c['decedents']:,} deaths ({c['adult_decedents']:,} adults)",
        "  deaths by year: " + ", ".join(f"{y} {n:,}" for y, n in c["decedents_by_year"].items()),
        "  adult deaths by cause group: "
        + ", ".join(f"{g} {n:,}" for g, n in c["adult_decedents_by_cause_group"].items()),
        "  place of death: "
        + ", ".join(f"{p} {100 * n / dec:.1f}%" for p, n in c["place_of_death"].items()),
        f"  referred to specialised palliative care: {c['spc_referred_persons']:,} persons, "
        f"admitted: {c['spc_admitted_persons']:,}",
        "  rows per register: " + ", ".join(f"{k} {n:,}" for k, n in c["rows"].items()),
        "  injected defects: " + ", ".join(f"{k} {n:,}" for k, n in truth["defects"].items()),
        *_realism_lines(truth.get("realism", {})),
        f"  ground truth: {out / 'truth.json'} and {out / 'truth' / 'persons.parquet'}",
    ]
    return "\n".join(lines)


def _realism_lines(realism: dict[str, Any]) -> list[str]:
    """One line per register-realism feature: on/off and its main counts."""
    main = {
        "multi_unit_spc": ("spc_patients_2plus_referrals", "SPC patients with 2+ units"),
        "sssy_payment_lag": ("sssy_services_paid_a_week_or_more_late", "GP services paid late"),
        "migration": ("emigrants", "emigrants"),
        "households": ("couples", "couples"),
        "nursing_homes": ("residents_at_death", "residents at death"),
        "plh_coverage": (
            "residents_at_death_before_the_register",
            "residents at death before the register, no stay",
        ),
        "place_detail_missing": ("deaths_without_detailed_place", "deaths without it"),
    }
    lines = []
    for name, info in realism.items():
        key, label = main.get(name, ("", ""))
        if not info.get("enabled"):
            lines.append(f"  {name}: off")
        elif key in info:
            lines.append(f"  {name}: on ({label}: {info[key]:,})")
        else:
            lines.append(f"  {name}: on")
    return lines
