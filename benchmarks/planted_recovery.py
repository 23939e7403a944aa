"""Issue 13's acceptance on a fresh synthetic set with a seed the tests never use.

    python benchmarks/planted_recovery.py [--preset small] [--seed 4242] [--data DIR]

Generates the registers (unless ``--data`` holds them), builds the study with paleval and then
checks, computing every expectation from the raw register files or from the generator's
planted constants, never from the code under test:

1. the incident non-cancer cohort: nobody with a cancer (CAR, or an LPR action/secondary
   diagnosis C00-C97 except C44) on or before entry; no entry on hypertension (I10) or atrial
   fibrillation (I48); every entry code present in the raw LPR on the entry date;
2. out-of-hours GP contact (`gp_ooh_contacts_30d`) by region and period: unknown (null) in the
   Capital Region from 2014, known elsewhere;
3. DPD indicator 1's denominator counts patients: equal to the raw count of adult decedents
   with an eligible referral in the DPD files, not to the referral rows;
4. the realism features are present in the raw files (multi-unit courses, payment lag,
   households, migration, nursing homes);
5. the planted parameters inside their 95 % CIs: home death (log prevalence ratios), SPC
   admittance of cancer decedents (log odds ratios), the practice SD of GP home visits,
   waiting time by region (logit of a first contact within 10 days, and the non-cancer log OR)
   and the EORTC shares, and the ATT of the planted intervention;
6. the calibration table (`paleval.synth.calibration_table`): every target within tolerance.

It prints a summary and writes every number as JSON (``--out``); the figures of a run are
recorded in ``benchmarks/RESULTS.md``. With the generator's planted intervention (on by
default) block 5 also holds its ATT: the true ATT from ``truth/persons.parquet`` (mean of
``spc_p1 - spc_p0`` among the treated), the estimate from ``difference_in_differences`` on the
municipality-year shares of non-cancer palliative-need decedents (simple aggregation).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

Z95 = 1.959963984540054


# ---------------------------------------------------------------- raw files (independent)
def _raw(data: Path, register: str) -> pl.LazyFrame:
    files = sorted((data / register).glob("*.parquet"))
    if not files:
        raise SystemExit(f"no parquet files for register {register} in {data}")
    return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")


def _icd(col: str) -> pl.Expr:
    """ICD-10 code as 'C509': upper case, the Danish leading 'D' removed."""
    c = pl.col(col).str.to_uppercase().str.strip_chars()
    return pl.when(c.str.contains(r"^D[A-Z]\d")).then(c.str.slice(1)).otherwise(c)


def _is_cancer(code: pl.Expr) -> pl.Expr:
    return (
        code.str.contains(r"^C[0-9]")
        & ~code.str.starts_with("C44")
        & (code.str.slice(1, 2).cast(pl.Int32, strict=False) <= 97)
    )


def raw_diagnoses(data: Path) -> pl.LazyFrame:
    """PNR, date, code (A and B diagnoses) of LPR2 and LPR3, straight from the files."""
    parts = []
    if (data / "lpr_adm").exists():
        adm = _raw(data, "lpr_adm").select("PNR", "RECNUM", date="D_INDDTO")
        diag = _raw(data, "lpr_diag").filter(pl.col("C_DIAGTYPE").is_in(["A", "B"]))
        parts.append(diag.join(adm, on="RECNUM").select("PNR", "date", code=_icd("C_DIAG")))
    if (data / "lpr_f_kontakter").exists():
        kon = _raw(data, "lpr_f_kontakter").select("PNR", "DW_EK_KONTAKT", date="dato_start")
        dia = _raw(data, "lpr_f_diagnoser").filter(
            pl.col("diagnosetype").is_in(["A", "B"])
            & (pl.col("senere_afkraeftet").fill_null("Nej") != "Ja")
        )
        parts.append(
            dia.join(kon, on="DW_EK_KONTAKT").select("PNR", "date", code=_icd("diagnosekode"))
        )
    return pl.concat(parts)


def check_noncancer_cohort(data: Path, cohort: pl.DataFrame) -> dict:
    entry = cohort.select("PNR", entry="diagnosis_date", entry_code="diagnosis_code").lazy()
    diag = raw_diagnoses(data)
    car = _raw(data, "car").select("PNR", date="D_DIAGNOSEDATO", code=_icd("C_ICD10"))
    cancers = pl.concat([diag, car]).filter(_is_cancer(pl.col("code")))
    prior = (
        cancers.join(entry, on="PNR")
        .filter(pl.col("date") <= pl.col("entry"))
        .select("PNR")
        .unique()
        .collect()
        .height
    )
    code = _icd("entry_code")
    on_day = (
        diag.join(entry, on="PNR")
        .filter((pl.col("date") == pl.col("entry")) & (pl.col("code") == code))
        .select("PNR")
        .unique()
        .collect()
        .height
    )
    cats = (
        cohort.select(cat=_icd("diagnosis_code").str.slice(0, 3))
        .group_by("cat")
        .len()
        .sort("len", descending=True)
    )
    return {
        "entrants": cohort.height,
        "with_cancer_on_or_before_entry": prior,
        "entry_on_I10_or_I48": cats.filter(pl.col("cat").is_in(["I10", "I48"]))["len"].sum(),
        "entry_code_in_raw_lpr_on_entry_date": on_day,
        "entry_categories": dict(zip(cats["cat"], cats["len"], strict=True)),
    }


def check_ooh(decedents: pl.DataFrame) -> dict:
    tab = (
        decedents.with_columns(period=pl.when(pl.col("death_year") >= 2014).then(pl.lit("2014+")))
        .with_columns(pl.col("period").fill_null("2010-2013"))
        .group_by("region", "period")
        .agg(n=pl.len(), unknown=pl.col("gp_ooh_contacts_30d").is_null().sum())
        .sort("region", "period")
    )
    return {f"{r['region']} {r['period']}": [r["unknown"], r["n"]] for r in tab.to_dicts()}


def check_indicator1(data: Path, study, quality_indicators) -> dict:
    res = quality_indicators(study.dpd, study.decedents, by=("year",))
    t = res.tables["indicators"]
    ind = t.filter(pl.col("indicator") == "1")
    per_patient = int(ind["denominator"].sum())
    # raw, as docs/methods.md states it: referrals of the study's adult decedents, without
    # a referral date or admission flag, a first contact before the referral, or a referral or
    # first contact after death left out; eligible = admitted, or not refused for not meeting
    # the criteria; the denominator counts patients with at least one eligible referral
    dec = study.decedents.select("PNR", "death_date").lazy()
    dpd = _raw(data, "dpd").join(dec, on="PNR")
    contact = pl.col("FOERSTE_KONTAKT_DATO")
    elig = dpd.filter(
        pl.col("HENV_DATO").is_not_null()
        & pl.col("MODTAGET").is_not_null()
        & (pl.col("HENV_DATO") <= pl.col("death_date"))
        & (
            contact.is_null()
            | ((contact >= pl.col("HENV_DATO")) & (contact <= pl.col("death_date")))
        )
        & (
            (pl.col("MODTAGET") == 1)
            | (pl.col("IKKE_MODTAGET_AARSAG").fill_null("") != "opfylder_ikke_kriterier")
        )
    )
    raw_patients = elig.select("PNR").unique().collect().height
    raw_rows = elig.collect().height
    return {
        "indicator1_denominator": per_patient,
        "raw_patients": raw_patients,
        "raw_referral_rows": raw_rows,
        "reasons": _raw(data, "dpd")
        .group_by("IKKE_MODTAGET_AARSAG")
        .len()
        .collect()
        .sort("len")
        .to_dicts(),
    }


def check_realism(data: Path) -> dict:
    dpd = _raw(data, "dpd")
    multi = (
        dpd.group_by("PNR")
        .agg(units=pl.col("ENHED_ID").n_unique())
        .select((pl.col("units") >= 2).sum(), pl.len())
        .collect()
        .row(0)
    )
    bef = _raw(data, "bef").select("PNR", "FAMILIE_ID", "REFERENCETID")
    shared = (
        bef.group_by("FAMILIE_ID", "REFERENCETID")
        .agg(n=pl.len())
        .filter(pl.col("n") >= 2)
        .select(pl.len())
        .collect()
        .item()
    )
    dod = _raw(data, "dod").select("PNR", "DODDATO")
    # GP services paid in an ISO week after death: a payment lag (no one is treated dead)
    sssy = _raw(data, "sssy").select("PNR", "HONUGE").join(dod, on="PNR")
    week = pl.col("HONUGE")
    yy = week.str.slice(0, 2).cast(pl.Int32) + 2000
    ww = week.str.slice(2, 2).cast(pl.Int32)
    paid_after = (
        sssy.with_columns(y=yy, w=ww)
        .with_columns(dy=pl.col("DODDATO").dt.iso_year(), dw=pl.col("DODDATO").dt.week())
        .filter(
            (pl.col("y") > pl.col("dy"))
            | ((pl.col("y") == pl.col("dy")) & (pl.col("w") > pl.col("dw")))
        )
        .select(pl.len())
        .collect()
        .item()
    )
    vnds = _raw(data, "vnds").group_by("INDUD_KODE").len().collect()
    plh = _raw(data, "plh").select(pl.len()).collect().item() if (data / "plh").exists() else 0
    return {
        "dpd_patients_with_2plus_units": multi[0],
        "dpd_patients": multi[1],
        "bef_families_with_2plus_persons": shared,
        "sssy_services_paid_in_a_week_after_death": paid_after,
        "vnds_rows": dict(zip(vnds["INDUD_KODE"], vnds["len"], strict=True)),
        "plh_stays": plh,
    }


# ---------------------------------------------------------------- planted parameters
def _inside(rows: list[dict]) -> list[dict]:
    for r in rows:
        r["inside"] = bool(r["conf_low"] <= r["truth"] <= r["conf_high"])
    return rows


def planted_home_death(study, truth: dict) -> list[dict]:
    from paleval.analyses.place_of_death import place_of_death_gp
    from paleval.codes import covered_from

    planted = truth["planted"]["home_death"]
    lp = planted["log_prevalence_ratios"]
    eol = study.decedents.filter(pl.col("death_date") >= pl.date(2010, 4, 1))
    res = place_of_death_gp(
        eol,
        exposures=["gp_home_visit_category", "terminal_declaration", "spc_unit"],
        covariates=["living_alone", "cancer", "female", "age_group", "death_year"],
        reference={"gp_home_visit_category": "0", "spc_unit": "none", "age_group": "70-79"},
        mutual=True,
        unknown_place="not_home",
        outcomes=["home_death"],
        cluster=None,
        population="all",
        community_dwelling=True,
    )
    terms = {
        "gp_home_visit_category[1-2]": "hv_1_2",
        "gp_home_visit_category[3+]": "hv_3plus",
        "terminal_declaration[yes]": "terminal",
        "living_alone": "living_alone",
        "cancer": "cancer",
        "spc_unit[hospital]": "spc_hospital",
        "spc_unit[hospice]": "spc_hospice",
        "female": "female",
        "death_year": "year",
    }
    expected = {t: lp[k] for t, k in terms.items()}
    for g, v in lp["age_group"].items():
        for level in ("80-89", "90+") if g == "80+" else (g,):
            if level != "70-79":
                expected[f"age_group[{level}]"] = v
    start = truth["generator"]["config"]["start_year"]
    origin = max(start, covered_from("plh").year)
    expected["(Intercept)"] = math.log(planted["reference_probability"]) + lp["year"] * (
        origin - start
    )
    tab = res.models["home_death/PR/adjusted"].table
    return _rows("home_death", tab, expected)


def _rows(block: str, tab: pl.DataFrame, expected: dict[str, float]) -> list[dict]:
    out = []
    for term, beta in expected.items():
        row = tab.filter(pl.col("term") == term)
        if row.height != 1:
            out.append({"block": block, "term": term, "truth": beta, "estimable": False})
            continue
        r = row.row(0, named=True)
        out.append(
            {
                "block": block,
                "term": term,
                "truth": beta,
                "estimate": r["estimate"],
                "conf_low": r["conf_low"],
                "conf_high": r["conf_high"],
                "estimable": True,
            }
        )
    return _inside([r for r in out if r["estimable"]]) + [r for r in out if not r["estimable"]]


def planted_spc(data: Path, study, truth: dict) -> list[dict]:
    from paleval.analyses.inequality import social_inequality
    from paleval.cohort import decedent_cohort
    from paleval.registers import scan_registers

    regs = scan_registers(data, ["dod", "dodsaasg", "bef", "udda", "faik"])
    inc = decedent_cohort(regs, income_lag=1).collect().select("PNR", "income", "income_quartile")
    eol = study.decedents.drop("income", "income_quartile").join(inc, on="PNR", how="left")
    res = social_inequality(
        eol,
        mutual=True,
        cluster=None,
        outcomes=["spc_admitted"],
        factors=["education", "income_quartile", "living_alone", "immigrant", "region_code"],
        covariates=["female", "age_group", "death_year", "cancer_site"],
        reference={
            "education": "lower_secondary",
            "income_quartile": 1,
            "age_group": "80-89",
            "region_code": "84",
            "cancer_site": "lung",
        },
        population="cancer",
        measures=["OR"],
        joint=None,
    )
    spec = truth["planted"]["spc_admittance_cancer"]
    expected = {}
    for k, v in spec["log_odds_ratios"].items():
        if not isinstance(v, dict):
            expected[
                {
                    "living_alone": "living_alone[living_alone]",
                    "immigrant": "immigrant[immigrant]",
                }.get(k, k)
            ] = v
            continue
        col = {"site": "cancer_site", "region": "region_code"}.get(k, k)
        ref = str(spec["reference"][k])
        for level, beta in v.items():
            if level != ref:
                expected[f"{col}[{level[2:] if k == 'region' else level}]"] = beta
    expected["age_group[90+]"] = 0.0  # the planted 80+ band is the reference 80-89 and 90+
    return _rows("spc_admittance_cancer", res.models["spc_admitted|OR"].table, expected)


def planted_practice_sd(study, truth: dict) -> list[dict]:
    from paleval.analyses import practice_variation

    sd = truth["planted"]["gp_home_visits_rate"]["practice_random_intercept_sd"]
    res = practice_variation(
        study.decedents,
        "gp_home_visits_90d",
        family="poisson",
        covariates=["age_group", "cancer", "living_alone", "spc_admitted", "region"],
    )
    r = res.table.filter(pl.col("parameter") == "sigma").row(0, named=True)
    return _inside(
        [
            {
                "block": "gp_home_visits_rate",
                "term": "practice_random_intercept_sd",
                "truth": sd,
                "estimate": r["estimate"],
                "conf_low": r["conf_low"],
                "conf_high": r["conf_high"],
                "estimable": True,
            }
        ]
    )


def planted_waiting_and_eortc(data: Path, study) -> list[dict]:
    """Waiting time and EORTC at the first admission, from the raw DPD rows (first admitted
    referral of each adult decedent), against the generator's constants."""
    from paleval.stats import logistic, proportion_ci
    from paleval.synth import config as C

    dec = study.decedents.select("PNR", "death_date", "cancer", "region_code").lazy()
    first = (
        _raw(data, "dpd")
        .join(dec, on="PNR")
        .filter((pl.col("MODTAGET") == 1) & pl.col("FOERSTE_KONTAKT_DATO").is_not_null())
        .sort("PNR", "FOERSTE_KONTAKT_DATO", "HENV_DATO")
        .group_by("PNR", maintain_order=True)
        .first()
        .with_columns(
            wait10=(
                (pl.col("FOERSTE_KONTAKT_DATO") - pl.col("HENV_DATO")).dt.total_days() <= 10
            ).cast(pl.Int8),
            noncancer=(~pl.col("cancer")).cast(pl.Int8),
            region=pl.col("region_code").cast(pl.String),
        )
        .filter(pl.col("region").is_not_null())
        .collect()
    )
    ref = "84"
    fit = logistic(first, "wait10", ["region", "noncancer"], reference={"region": ref})
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    expected = {
        "(Intercept)": logit(C.P_WAIT_LE10_REGION[1084]),
        "noncancer": C.WAIT_NONCANCER_LOG_OR,
    }
    for reg, p in C.P_WAIT_LE10_REGION.items():
        if str(reg)[2:] != ref:
            expected[f"region[{str(reg)[2:]}]"] = logit(p) - logit(C.P_WAIT_LE10_REGION[1084])
    rows = _rows("waiting_le10", fit.table, expected)
    for group, p in C.P_EORTC.items():
        sub = first.filter(pl.col("cancer") == (group == "cancer"))
        k = int((sub["EORTC_UDFYLDT"] == 1).sum())
        ci = proportion_ci(k, sub.height).row(0, named=True)
        lo, hi = ci["conf_low"], ci["conf_high"]
        rows += _inside(
            [
                {
                    "block": "eortc",
                    "term": group,
                    "truth": p,
                    "estimate": k / sub.height,
                    "conf_low": lo,
                    "conf_high": hi,
                    "estimable": True,
                }
            ]
        )
    return rows


def _need_groups() -> list[str]:
    """The generator's non-cancer palliative-need cause groups (the planted population)."""
    from paleval.synth import config as C

    return [g for g in C.CAUSE_GROUPS if g not in ("cancer", "other")]


def planted_intervention(data: Path, study, truth: dict) -> list[dict]:
    """The planted intervention's ATT: truth from the per-person probabilities, estimate from
    the staggered DiD (units and adoption dates as the design states them)."""
    from paleval.analyses import difference_in_differences

    out = []
    for name, spec in truth.get("interventions", {}).items():
        if not spec.get("enabled"):
            continue
        persons = pl.read_parquet(data / "truth" / "persons.parquet")
        treated = persons.filter(pl.col("intervention_treated"))
        true_att = float((treated["spc_p1"] - treated["spc_p0"]).mean())
        cohort = study.decedents.filter(pl.col("cause_group").is_in(_need_groups()))
        present = set(cohort["municipality"].drop_nulls().cast(pl.String).to_list())
        adoption = {k: v for k, v in spec["adoption"].items() if k in present}
        res = difference_in_differences(
            cohort, spec["outcome"], "municipality", "death_date", adoption
        )
        row = res.tables["overall"].filter(pl.col("aggregation") == "simple").row(0, named=True)
        out.append(
            {
                "block": "intervention",
                "term": f"{name} ATT",
                "truth": true_att,
                "estimate": row["att"],
                "conf_low": row["conf_low"],
                "conf_high": row["conf_high"],
                "estimable": True,
            }
        )
    return _inside(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)

    from paleval.analyses import quality_indicators
    from paleval.report import load_study
    from paleval.synth import SynthConfig, generate
    from paleval.synth.calibration import calibration_table

    data = a.data or Path(f"/tmp/paleval_planted/{a.preset}_{a.seed}")
    t0 = time.perf_counter()
    if not (data / "truth.json").exists():
        generate(SynthConfig.from_preset(a.preset, seed=a.seed), data)
    truth = json.loads((data / "truth.json").read_text())
    study = load_study(data, cache_dir=data.parent / f".cache_{data.name}")
    out: dict = {"data": str(data), "preset": a.preset, "seed": a.seed}
    out["noncancer_cohort"] = check_noncancer_cohort(data, study.incident_noncancer)
    out["ooh_unknown_by_region_period"] = check_ooh(study.decedents)
    out["indicator1"] = check_indicator1(data, study, quality_indicators)
    out["realism"] = check_realism(data)
    rows: list[dict] = []
    for name, fn in [
        ("home_death", lambda: planted_home_death(study, truth)),
        ("spc", lambda: planted_spc(data, study, truth)),
        ("practice_sd", lambda: planted_practice_sd(study, truth)),
        ("waiting_eortc", lambda: planted_waiting_and_eortc(data, study)),
        ("intervention", lambda: planted_intervention(data, study, truth)),
    ]:
        try:
            rows += fn()
        except Exception as e:  # a block that cannot be fitted on a tiny set is reported
            out.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
    est = [r for r in rows if r["estimable"]]
    out["planted"] = {
        "parameters": len(rows),
        "estimable": len(est),
        "inside_95": sum(r["inside"] for r in est),
        "share_inside": sum(r["inside"] for r in est) / max(len(est), 1),
        "outside": [r for r in est if not r["inside"]],
        "not_estimable": [r["term"] for r in rows if not r["estimable"]],
        "by_block": {
            b: [sum(r["inside"] for r in est if r["block"] == b), sum(r["block"] == b for r in est)]
            for b in dict.fromkeys(r["block"] for r in rows)
        },
    }
    try:
        cal = calibration_table(data)
        out["calibration"] = {
            "targets": cal.height,
            "ok": int(cal["ok"].sum()),
            "not_ok": cal.filter(~pl.col("ok")).to_dicts(),
        }
    except Exception as e:
        out.setdefault("errors", {})["calibration"] = f"{type(e).__name__}: {e}"
    out["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(
        out, indent=2, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)
    )
    if a.out:
        a.out.write_text(text)
    print(text)
    p = out["planted"]
    nc = out["noncancer_cohort"]
    ok = (
        nc["with_cancer_on_or_before_entry"] == 0
        and nc["entry_on_I10_or_I48"] == 0
        and out["indicator1"]["indicator1_denominator"] == out["indicator1"]["raw_patients"]
        and p["share_inside"] >= 0.95
        and not out.get("calibration", {}).get("not_ok", [1])
    )
    print(
        f"\nplanted inside 95 % CI: {p['inside_95']}/{p['estimable']} "
        f"({100 * p['share_inside']:.1f} %); acceptance {'met' if ok else 'NOT met'}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
