"""Benchmark: the decedent cohort with all exposure windows and covariates, against baselines.

Usage::

    python -m pip install -e ".[bench]"        # duckdb (and pandas, pyarrow) for the baselines
    python benchmarks/bench_cohort.py DATA_DIR [DATA_DIR ...]

DATA_DIR is a folder written by ``paleval synth`` (e.g. the ``small`` or ``national`` preset).
Every implementation runs in a fresh subprocess (its peak RSS is its own), one after the other,
on the same files:

- **paleval**: ``decedent_cohort`` collected once (streaming), then the GP windows, terminal
  declaration, SPC, admissions and bed days, opioids and Charlson on ``frame.lazy()``, collected
  once with the streaming engine (the STROBE flow included). The health insurance, prescription
  and LPR registers are restricted to the cohort's persons with a ``PNR`` filter (the loaders
  pass clean parquet columns through, so the filter reaches the parquet reader), the LPR
  diagnoses to the Charlson codes (``lpr_diagnoses(codes=charlson_codes())``); duplicate
  contacts are dropped inside the admission window by ``add_hospital_use``. The time includes
  building the scans (their check of which parquet columns need cleaning);
- **paleval, column checks remembered**: the same again in a new process. The first run checked
  which parquet text columns need cleaning (``PNR`` of every register: about 11 s nationally)
  and wrote the result to the cache directory (a fresh one per data directory); this run reads
  it, as every later run on the same files does;
- **paleval end_of_life_cohort**: the one-call API the report uses: the same plus the practice
  at death and the practice home-visit propensity (all listed persons aged 40+ over the
  period: a second pass over the whole health insurance register). Without the ``exclude=True``
  rules, so its checks compare with the others;
- **DuckDB**: the same cohort as one hand-written SQL query over the parquet files;
- **pandas**: straightforward pandas code (yearly files read one at a time and restricted to the
  cohort). Skipped, with a note, when the health insurance register has more than
  ``PANDAS_MAX_SSSY_ROWS`` rows (about 3 GB of pandas memory per 10 million rows);
- **I/O floor**: every input column the build uses, read and decoded with polars (no work).

The baselines compute the cohort (deaths in the period with a cause-of-death record, resident
the year before, aged 18+), age, sex, region and living alone from BEF the year before death,
education (the last UDDA status up to the year of death, four levels), equivalised family income
the year before death and its quintile within the death year (FAIK through BEF's family), GP
home visits in 90 days (daytime, week-overlap rule) and GP contacts in 30 days, SPC referral and
contact, bed days in 30 days (distinct nights), opioids in 90 days and the Charlson index (LPR2
and LPR3 diagnoses of contacts in the 10 years before death, with the hierarchies); the script
checks that 19 per-column sums and counts agree with paleval and prints the result. Prints a
Markdown table for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time

import polars as pl
from _common import run_child

PANDAS_MAX_SSSY_ROWS = int(os.environ.get("PANDAS_MAX_SSSY_ROWS", 50_000_000))

# Per-column checks every implementation reports (computed after the timed part).
CHECKS = """
def checks(df):
    # df: polars DataFrame with the compared columns
    return {
        "persons": df.height,
        "sum_age": int(df["age"].sum()),
        "female": int((df["sex"] == "female").sum()),
        "region_84": int((df["region_code"] == "84").sum()),
        "sum_death_day": int(df["death_date"].cast(pl.Int64).sum()),
        "gp_home_visits_90d": int(df["gp_home_visits_90d"].sum()),
        "gp_contacts_30d": int(df["gp_contacts_30d"].sum()),
        "spc_referred": int(df["spc_referred"].sum()),
        "spc_admitted": int(df["spc_admitted"].sum()),
        "bed_days_30d": int(df["bed_days_30d"].sum()),
        "opioid_90d": int(df["opioid_90d"].sum()),
        "living_alone": int(df["living_alone"].sum()),
        "edu_unknown": int((df["education"] == "unknown").sum()),
        "edu_lower_secondary": int((df["education"] == "lower_secondary").sum()),
        "edu_long_higher": int((df["education"] == "long_higher").sum()),
        "income_known": int(df["income"].is_not_null().sum()),
        "sum_income_quintile": int(df["income_quintile"].sum()),
        "sum_charlson": int(df["charlson_index"].sum()),
        "charlson_3plus": int((df["charlson_index"] >= 3).sum()),
    }
"""

# The end of both paleval children: stop the clock, print the JSON line run_child parses.
REPORT = """
flow = cohort.flow.table
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": rows.height,
                  "columns": rows.width, "deaths": int(flow["n"][0]),
                  "checks": checks(rows)}))
"""

PALEVAL = (
    """
import json, resource, sys, time
import polars as pl
from paleval.registers import scan_registers, lpr_contacts, lpr_diagnoses
from paleval.cohort import (decedent_cohort, add_gp_exposures, add_terminal_declaration,
    add_spc, add_hospital_use, add_drug_use, add_charlson, charlson_codes)
"""
    + CHECKS
    + """
d = sys.argv[1]
t0, c0 = time.perf_counter(), time.process_time()
regs = scan_registers(d, ["dod", "dodsaasg", "bef", "udda", "faik", "sssy", "terminal", "dpd",
                          "lmdb"])
# the baselines take income from the year before death, count raw out-of-hours services and
# count payment weeks up to the death week: paleval is asked for the same (its defaults are
# income 3 years before death, unknown out-of-hours contact in declared coverage gaps and
# payments up to 8 weeks after death; docs/methods.md)
cohort = decedent_cohort(regs, income_lag=1)
base = cohort.collect(with_flow=True)  # the cohort plan evaluated once, with its flow
# the registers restricted to the cohort's persons (the filter reaches the files)
persons = pl.col("PNR").is_in(base["PNR"].implode())
lf = add_gp_exposures(
    base.lazy(), regs["sssy"].filter(persons), region=None, payment_grace_weeks=0
)
lf = add_terminal_declaration(lf, regs["terminal"])
lf = add_spc(lf, regs["dpd"])
lf = add_hospital_use(lf, lpr_contacts(d).filter(persons))
lf = add_drug_use(lf, regs["lmdb"].filter(persons))
lf = add_charlson(lf, lpr_diagnoses(d, codes=charlson_codes()).filter(persons))
rows = lf.collect(engine="streaming")
"""
    + REPORT
)

EOL = (
    """
import json, resource, sys, time
import polars as pl
from paleval.registers import scan_registers, lpr_contacts, lpr_diagnoses
from paleval.cohort import END_OF_LIFE_REGISTERS, charlson_codes, end_of_life_cohort
"""
    + CHECKS
    + """
d = sys.argv[1]
t0, c0 = time.perf_counter(), time.process_time()
regs = scan_registers(d, END_OF_LIFE_REGISTERS)
cohort = end_of_life_cohort(
    regs, lpr_contacts(d), lpr_diagnoses(d, codes=charlson_codes()), income_lag=1
)
rows = cohort.collect()
"""
    + REPORT
)

DUCKDB = (
    """
import json, resource, sys, time
import duckdb
import polars as pl
from paleval.codes import load_codes
"""
    + CHECKS
    + """
d = sys.argv[1]
# code lists as literals (the same lists paleval uses)
gp = load_codes("gp_services")
def codes(cats):
    return ", ".join(f"'{c}'" for c in gp.filter(pl.col("category").is_in(cats))["SPECIALE"])
HOME = codes(["home_visit"])
CONTACT = codes(["consultation", "e_consultation", "phone", "home_visit"])
DAY = load_codes("gp_time_codes").filter(pl.col("period") == "daytime")["YDLTID"].item()
OPIOID = load_codes("atc_groups").filter(pl.col("group") == "opioid")["atc_prefix"].to_list()
OPIOID_SQL = " OR ".join(f"m.ATC LIKE '{p}%'" for p in OPIOID)
EDU = ", ".join(f"('{a}', '{b}')" for a, b in
                load_codes("education_hfaudd").select("HFAUDD", "level").iter_rows())
# Charlson: prefix, condition, weight, and the condition that supersedes it (hierarchies)
SUPER = {"diabetes": "diabetes_end_organ_damage",
         "mild_liver_disease": "moderate_severe_liver_disease",
         "any_tumour": "metastatic_solid_tumour"}
CHARLSON = ", ".join(
    f"('{p}', '{c}', {w}, '{SUPER.get(c, '')}')"
    for p, c, w in load_codes("charlson").select("icd10_prefix", "condition", "weight").iter_rows())
PREFIXES = ", ".join(f"'{p}'" for p in load_codes("charlson")["icd10_prefix"].unique().sort())
SQL = f'''
WITH deaths AS (
    SELECT PNR, min(DODDATO) AS death_date
    FROM read_parquet('{d}/dod/*.parquet')
    WHERE DODDATO BETWEEN DATE '2010-01-01' AND DATE '2024-12-31'
    GROUP BY PNR
), bef AS (
    SELECT PNR, FOED_DAG, KOEN, trim(REG) AS REG, FAMILIE_ID, ANTPERSF,
           CAST(regexp_extract(filename, 'bef(\\\\d{{4}})12[.]parquet$', 1) AS INTEGER) AS year
    FROM read_parquet('{d}/bef/*.parquet', filename = true)
), cohort AS (
    SELECT d.PNR, d.death_date, b.REG AS region_code, b.FAMILIE_ID, b.year AS bef_year,
           b.ANTPERSF = 1 AS living_alone,
           CASE WHEN CAST(b.KOEN AS VARCHAR) = '2' THEN 'female' ELSE 'male' END AS sex,
           year(d.death_date) - year(b.FOED_DAG)
             - CASE WHEN month(d.death_date) < month(b.FOED_DAG)
                      OR (month(d.death_date) = month(b.FOED_DAG)
                          AND day(d.death_date) < day(b.FOED_DAG)) THEN 1 ELSE 0 END AS age
    FROM deaths d
    JOIN bef b ON b.PNR = d.PNR AND b.year = year(d.death_date) - 1
    WHERE d.PNR IN (SELECT PNR FROM read_parquet('{d}/dodsaasg/*.parquet'))
      AND b.FOED_DAG IS NOT NULL
), cohort18 AS (
    SELECT * FROM cohort WHERE age >= 18
), services AS (
    SELECT s.PNR, c.death_date, s.SPECIALE, s.YDLTID, s.YDLANT,
           CASE WHEN CAST(substr(s.HONUGE, 1, 2) AS INTEGER) >= 90
                THEN 1900 ELSE 2000 END + CAST(substr(s.HONUGE, 1, 2) AS INTEGER) AS yr,
           CAST(substr(s.HONUGE, 3, 2) AS INTEGER) AS wk
    FROM read_parquet('{d}/sssy/*.parquet') s JOIN cohort18 c ON s.PNR = c.PNR
), weeks AS (
    SELECT *, make_date(yr, 1, 4) - CAST(isodow(make_date(yr, 1, 4)) - 1 AS INTEGER)
              + CAST((wk - 1) * 7 AS INTEGER) AS monday
    FROM services
    WHERE wk BETWEEN 1 AND week(make_date(yr, 12, 28))
), gp AS (
    SELECT PNR,
      sum(CASE WHEN SPECIALE IN ({HOME}) AND YDLTID = '{DAY}'
               AND monday + 6 >= death_date - 89 THEN YDLANT ELSE 0 END) AS gp_home_visits_90d,
      sum(CASE WHEN SPECIALE IN ({CONTACT})
               AND monday + 6 >= death_date - 29 THEN YDLANT ELSE 0 END) AS gp_contacts_30d
    FROM weeks
    WHERE monday <= death_date AND monday + 6 >= death_date - 89
    GROUP BY PNR
), spc AS (
    SELECT p.PNR,
      bool_or(p.HENV_DATO <= c.death_date) AS spc_referred,
      bool_or(p.MODTAGET = 1 AND p.FOERSTE_KONTAKT_DATO <= c.death_date) AS spc_admitted
    FROM read_parquet('{d}/dpd/*.parquet') p JOIN cohort18 c ON p.PNR = c.PNR
    GROUP BY p.PNR
), stays AS (
    SELECT PNR, D_INDDTO AS s, D_UDDTO AS e
    FROM read_parquet('{d}/lpr_adm/*.parquet') WHERE trim(C_PATTYPE) = '0'
    UNION ALL
    SELECT PNR, dato_start, dato_slut
    FROM read_parquet('{d}/lpr_f_kontakter/*.parquet') WHERE dato_slut > dato_start
), win AS (
    SELECT st.PNR, greatest(st.s, c.death_date - 30) AS f, least(st.e, c.death_date) - 1 AS l
    FROM stays st JOIN cohort18 c ON st.PNR = c.PNR
    WHERE st.e >= c.death_date - 30 AND st.s <= c.death_date
), nights AS (
    SELECT PNR, count(DISTINCT night) AS bed_days_30d
    FROM (SELECT PNR, unnest(generate_series(f, l, INTERVAL 1 DAY)) AS night
          FROM win WHERE l >= f)
    GROUP BY PNR
), opioid AS (
    SELECT DISTINCT m.PNR
    FROM read_parquet('{d}/lmdb/*.parquet') m JOIN cohort18 c ON m.PNR = c.PNR
    WHERE ({OPIOID_SQL}) AND m.EKSD <= c.death_date AND m.EKSD > c.death_date - 90
), edu AS (  -- the last UDDA status up to the year of death, mapped to four levels
    SELECT u.PNR, arg_max(trim(u.HFAUDD), u.year) AS hfaudd
    FROM (SELECT PNR, HFAUDD,
                 CAST(regexp_extract(filename, 'udda(\\d{{4}})[.]parquet$', 1) AS INTEGER) AS year
          FROM read_parquet('{d}/udda/*.parquet', filename = true)) u
    JOIN cohort18 c ON u.PNR = c.PNR
    WHERE u.year <= year(c.death_date)
    GROUP BY u.PNR
), levels(hfaudd, level) AS (VALUES {EDU}
), income AS (  -- equivalised family income the year before death, through BEF's family
    SELECT c.PNR, any_value(f.FAMAEKVIVADISP_13) AS income
    FROM (SELECT FAMILIE_ID, FAMAEKVIVADISP_13,
                 CAST(regexp_extract(filename, 'faik(\\d{{4}})[.]parquet$', 1) AS INTEGER) AS year
          FROM read_parquet('{d}/faik/*.parquet', filename = true)) f
    JOIN cohort18 c ON f.FAMILIE_ID = c.FAMILIE_ID AND f.year = c.bef_year
    GROUP BY c.PNR
), charlson(prefix, condition, weight, superseded_by) AS (VALUES {CHARLSON}
), diagnoses AS (  -- LPR2 and LPR3 diagnoses of a Charlson condition (ICD-10: SKS without D)
    SELECT a.PNR, a.D_INDDTO AS start, g.code
    FROM (SELECT RECNUM, substr(upper(C_DIAG), 2) AS code
          FROM read_parquet('{d}/lpr_diag/*.parquet')) g
    JOIN read_parquet('{d}/lpr_adm/*.parquet') a ON g.RECNUM = a.RECNUM
    WHERE substr(g.code, 1, 3) IN ({PREFIXES}) OR substr(g.code, 1, 4) IN ({PREFIXES})
    UNION ALL
    SELECT k.PNR, k.dato_start, g.code
    FROM (SELECT DW_EK_KONTAKT, substr(upper(diagnosekode), 2) AS code
          FROM read_parquet('{d}/lpr_f_diagnoser/*.parquet')
          WHERE coalesce(senere_afkraeftet, '') <> 'Ja') g
    JOIN read_parquet('{d}/lpr_f_kontakter/*.parquet') k ON g.DW_EK_KONTAKT = k.DW_EK_KONTAKT
    WHERE substr(g.code, 1, 3) IN ({PREFIXES}) OR substr(g.code, 1, 4) IN ({PREFIXES})
), conditions AS (  -- Charlson conditions from contacts in the 10 years before death
    SELECT DISTINCT x.PNR, ch.condition, ch.weight, ch.superseded_by
    FROM diagnoses x JOIN cohort18 c ON x.PNR = c.PNR,
         unnest([substr(x.code, 1, 3), substr(x.code, 1, 4)]) AS p(prefix)
    JOIN charlson ch ON ch.prefix = p.prefix
    WHERE x.start < c.death_date AND x.start >= c.death_date - INTERVAL 10 YEAR
), score AS (
    SELECT a.PNR, sum(a.weight) AS charlson_index
    FROM conditions a
    WHERE NOT EXISTS (SELECT 1 FROM conditions b
                      WHERE b.PNR = a.PNR AND b.condition = a.superseded_by)
    GROUP BY a.PNR
), cohort_income AS (
    SELECT c.PNR, i.income,
           CASE WHEN i.income IS NOT NULL THEN
             (rank() OVER (PARTITION BY year(c.death_date) ORDER BY i.income) - 1) * 5
             // count(i.income) OVER (PARTITION BY year(c.death_date)) + 1 END AS income_quintile
    FROM cohort18 c LEFT JOIN income i ON i.PNR = c.PNR
)
SELECT c.PNR, c.death_date, c.age, c.sex, c.region_code, c.living_alone,
       coalesce(levels.level, 'unknown') AS education,
       ci.income, ci.income_quintile,
       coalesce(score.charlson_index, 0) AS charlson_index,
       coalesce(gp.gp_home_visits_90d, 0) AS gp_home_visits_90d,
       coalesce(gp.gp_contacts_30d, 0) AS gp_contacts_30d,
       coalesce(spc.spc_referred, false) AS spc_referred,
       coalesce(spc.spc_admitted, false) AS spc_admitted,
       coalesce(nights.bed_days_30d, 0) AS bed_days_30d,
       opioid.PNR IS NOT NULL AS opioid_90d
FROM cohort18 c
LEFT JOIN gp ON gp.PNR = c.PNR
LEFT JOIN spc ON spc.PNR = c.PNR
LEFT JOIN nights ON nights.PNR = c.PNR
LEFT JOIN opioid ON opioid.PNR = c.PNR
LEFT JOIN edu ON edu.PNR = c.PNR
LEFT JOIN levels ON levels.hfaudd = edu.hfaudd
LEFT JOIN cohort_income ci ON ci.PNR = c.PNR
LEFT JOIN score ON score.PNR = c.PNR
'''
t0, c0 = time.perf_counter(), time.process_time()
con = duckdb.connect()
con.execute("SET memory_limit = '10GB'")
con.execute("SET enable_progress_bar = false")
con.execute("SET preserve_insertion_order = false")
tbl = con.execute(SQL).to_arrow_table()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
df = pl.from_arrow(tbl)
if not isinstance(df, pl.DataFrame):
    df = df.to_frame()
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": df.height,
                  "version": duckdb.__version__, "checks": checks(df)}))
"""
)

PANDAS = (
    """
import glob, json, resource, sys, time
import numpy as np
import pandas as pd
import polars as pl
from paleval.codes import load_codes
"""
    + CHECKS
    + """
d = sys.argv[1]
gp = load_codes("gp_services").to_pandas()
HOME = set(gp.loc[gp["category"] == "home_visit", "SPECIALE"])
CONTACT = set(gp.loc[gp["category"].isin(
    ["consultation", "e_consultation", "phone", "home_visit"]), "SPECIALE"])
tc = load_codes("gp_time_codes").to_pandas()
DAY = tc.loc[tc["period"] == "daytime", "YDLTID"].item()
at = load_codes("atc_groups").to_pandas()
OPIOID = tuple(at.loc[at["group"] == "opioid", "atc_prefix"])

def files(key):
    return sorted(glob.glob(f"{d}/{key}/*.parquet"))

def read(key, cols):
    return pd.concat([pd.read_parquet(f, columns=cols) for f in files(key)], ignore_index=True)

def with_cohort(key, cols, filt=None):
    # yearly files one at a time, each restricted to the cohort (inner merge)
    parts = []
    for f in files(key):
        x = pd.read_parquet(f, columns=cols)
        if filt is not None:
            x = x[filt(x)]
        parts.append(x.merge(cohort[["PNR", "death_date"]], on="PNR"))
    return pd.concat(parts, ignore_index=True)

t0, c0 = time.perf_counter(), time.process_time()
dod = read("dod", ["PNR", "DODDATO"])
dod["DODDATO"] = pd.to_datetime(dod["DODDATO"])
dod = dod[(dod["DODDATO"] >= "2010-01-01") & (dod["DODDATO"] <= "2024-12-31")]
deaths = dod.drop_duplicates("PNR").rename(columns={"DODDATO": "death_date"})
dar = read("dodsaasg", ["PNR"]).drop_duplicates()
deaths = deaths[deaths["PNR"].isin(dar["PNR"])]
deaths["bef_year"] = deaths["death_date"].dt.year - 1
befs = []
for f in files("bef"):
    year = int(f.rsplit("bef", 1)[1][:4])
    b = pd.read_parquet(f, columns=["PNR", "FOED_DAG", "KOEN", "REG", "FAMILIE_ID", "ANTPERSF"])
    b = b.merge(deaths[deaths["bef_year"] == year], on="PNR")
    befs.append(b)
cohort = pd.concat(befs, ignore_index=True)
cohort = cohort[cohort["FOED_DAG"].notna()]
birth = pd.to_datetime(cohort["FOED_DAG"])
dd = cohort["death_date"]
had = (dd.dt.month > birth.dt.month) | (
    (dd.dt.month == birth.dt.month) & (dd.dt.day >= birth.dt.day))
cohort["age"] = dd.dt.year - birth.dt.year - (~had).astype(int)
cohort = cohort[cohort["age"] >= 18].copy()
cohort["sex"] = np.where(cohort["KOEN"].astype(str) == "2", "female", "male")
cohort["region_code"] = cohort["REG"].astype(str).str.strip()
cohort["living_alone"] = cohort["ANTPERSF"] == 1
cohort = cohort[["PNR", "death_date", "age", "sex", "region_code", "living_alone", "FAMILIE_ID",
                 "bef_year"]].reset_index(drop=True)

# education: the last UDDA status up to the year of death, mapped to four levels
us = []
for f in files("udda"):
    year = int(f.rsplit("udda", 1)[1][:4])
    u = pd.read_parquet(f, columns=["PNR", "HFAUDD"]).merge(cohort[["PNR", "death_date"]], on="PNR")
    u = u[u["death_date"].dt.year >= year]
    us.append(u.assign(year=year)[["PNR", "year", "HFAUDD"]])
u = pd.concat(us).sort_values(["PNR", "year"], kind="stable").drop_duplicates("PNR", keep="last")
u["HFAUDD"] = u["HFAUDD"].str.strip()
levels = load_codes("education_hfaudd").to_pandas()[["HFAUDD", "level"]]
edu = u.merge(levels, on="HFAUDD", how="left").set_index("PNR")["level"].rename("education")

# income: equivalised family income the year before death (FAIK, through BEF's family)
fs = []
for f in files("faik"):
    year = int(f.rsplit("faik", 1)[1][:4])
    x = pd.read_parquet(f, columns=["FAMILIE_ID", "FAMAEKVIVADISP_13"])
    fs.append(x.merge(cohort.loc[cohort["bef_year"] == year, ["PNR", "FAMILIE_ID"]],
                      on="FAMILIE_ID"))
inc = pd.concat(fs).drop_duplicates("PNR").set_index("PNR")["FAMAEKVIVADISP_13"].rename("income")

# Charlson: diagnoses of contacts in the 10 years before death (LPR2 and LPR3)
adm = with_cohort("lpr_adm", ["PNR", "RECNUM", "D_INDDTO"])
d2 = read("lpr_diag", ["RECNUM", "C_DIAG"]).merge(adm, on="RECNUM")
d2 = d2.rename(columns={"D_INDDTO": "start", "C_DIAG": "code"})
kon = with_cohort("lpr_f_kontakter", ["PNR", "DW_EK_KONTAKT", "dato_start"])
d3 = read("lpr_f_diagnoser", ["DW_EK_KONTAKT", "diagnosekode", "senere_afkraeftet"])
d3 = d3[d3["senere_afkraeftet"].fillna("") != "Ja"].merge(kon, on="DW_EK_KONTAKT")
d3 = d3.rename(columns={"dato_start": "start", "diagnosekode": "code"})
dx = pd.concat([d2[["PNR", "start", "code", "death_date"]],
                d3[["PNR", "start", "code", "death_date"]]], ignore_index=True)
dx["start"] = pd.to_datetime(dx["start"])
dx = dx[(dx["start"] < dx["death_date"])
        & (dx["start"] >= dx["death_date"] - pd.DateOffset(years=10))]
code = dx["code"].str.upper().str.replace(r"[ .]", "", regex=True)
code = code.where(~code.str.match(r"^D[A-Z][0-9]"), code.str[1:])
ch = load_codes("charlson").to_pandas()
ch["weight"] = ch["weight"].astype(int)
found = pd.concat([pd.DataFrame({"PNR": dx["PNR"], "icd10_prefix": code.str[:n]}) for n in (3, 4)])
found = found.merge(ch[["icd10_prefix", "condition", "weight"]], on="icd10_prefix")
found = found.drop_duplicates(["PNR", "condition"])
SUPER = {"diabetes_end_organ_damage": "diabetes",
         "moderate_severe_liver_disease": "mild_liver_disease",
         "metastatic_solid_tumour": "any_tumour"}
gone = found[found["condition"].isin(list(SUPER))].assign(
    condition=lambda x: x["condition"].map(SUPER))[["PNR", "condition"]]
found = found.merge(gone, on=["PNR", "condition"], how="left", indicator=True)
charlson = found[found["_merge"] == "left_only"].groupby("PNR")["weight"].sum()
charlson = charlson.rename("charlson_index")

# GP services: week Monday from HONUGE (yyww, ISO year and week), week-overlap rule
s = with_cohort("sssy", ["PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT"])
yy = s["HONUGE"].str[:2].astype(int)
iso = (np.where(yy >= 90, 1900, 2000) + yy).astype(str) + s["HONUGE"].str[2:4] + "1"
s["monday"] = pd.to_datetime(iso, format="%G%V%u", errors="coerce")
sunday = s["monday"] + pd.Timedelta(days=6)
s = s[(s["monday"] <= s["death_date"]) & (sunday >= s["death_date"] - pd.Timedelta(days=89))]
sunday = s["monday"] + pd.Timedelta(days=6)
s["hv"] = np.where(s["SPECIALE"].isin(HOME) & (s["YDLTID"] == DAY)
                   & (sunday >= s["death_date"] - pd.Timedelta(days=89)), s["YDLANT"], 0)
s["ct"] = np.where(s["SPECIALE"].isin(CONTACT)
                   & (sunday >= s["death_date"] - pd.Timedelta(days=29)), s["YDLANT"], 0)
gpc = s.groupby("PNR")[["hv", "ct"]].sum().rename(
    columns={"hv": "gp_home_visits_90d", "ct": "gp_contacts_30d"})
del s

# SPC
p = read("dpd", ["PNR", "HENV_DATO", "MODTAGET", "FOERSTE_KONTAKT_DATO"]).merge(
    cohort[["PNR", "death_date"]], on="PNR")
for c in ("HENV_DATO", "FOERSTE_KONTAKT_DATO"):
    p[c] = pd.to_datetime(p[c])
p["spc_referred"] = p["HENV_DATO"] <= p["death_date"]
p["spc_admitted"] = (p["MODTAGET"] == 1) & (p["FOERSTE_KONTAKT_DATO"] <= p["death_date"])
spc = p.groupby("PNR")[["spc_referred", "spc_admitted"]].any()

# bed days: distinct nights in [death - 30, death]
a = with_cohort("lpr_adm", ["PNR", "C_PATTYPE", "D_INDDTO", "D_UDDTO"],
                lambda x: x["C_PATTYPE"].str.strip() == "0")
a = a.rename(columns={"D_INDDTO": "s", "D_UDDTO": "e"})
k = with_cohort("lpr_f_kontakter", ["PNR", "dato_start", "dato_slut"],
                lambda x: x["dato_slut"] > x["dato_start"])
k = k.rename(columns={"dato_start": "s", "dato_slut": "e"})
st = pd.concat([a[["PNR", "s", "e", "death_date"]], k[["PNR", "s", "e", "death_date"]]])
for c in ("s", "e"):
    st[c] = pd.to_datetime(st[c])
w0 = st["death_date"] - pd.Timedelta(days=30)
st = st[(st["e"] >= w0) & (st["s"] <= st["death_date"])]
w0 = st["death_date"] - pd.Timedelta(days=30)
first = np.maximum(st["s"], w0)
last = np.minimum(st["e"], st["death_date"]) - pd.Timedelta(days=1)
n = ((last - first).dt.days + 1).clip(lower=0).to_numpy()
nights = pd.DataFrame({"PNR": np.repeat(st["PNR"].to_numpy(), n),
                       "night": np.repeat(first.to_numpy(), n)})
offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # 0, 1, ... within each stay
nights["night"] += pd.to_timedelta(offset, unit="D")
bed = nights.drop_duplicates().groupby("PNR").size().rename("bed_days_30d")

# opioids in 90 days
m = with_cohort("lmdb", ["PNR", "EKSD", "ATC"], lambda x: x["ATC"].str.startswith(OPIOID))
m["EKSD"] = pd.to_datetime(m["EKSD"])
m = m[(m["EKSD"] <= m["death_date"]) & (m["EKSD"] > m["death_date"] - pd.Timedelta(days=90))]
opioid = pd.Series(True, index=m["PNR"].unique(), name="opioid_90d")

out = cohort.set_index("PNR").join([gpc, spc, bed, opioid, edu, inc, charlson])
out = out.fillna({"gp_home_visits_90d": 0, "gp_contacts_30d": 0, "spc_referred": False,
                  "spc_admitted": False, "bed_days_30d": 0, "opioid_90d": False,
                  "education": "unknown", "charlson_index": 0})
year = out["death_date"].dt.year
rank = out.groupby(year)["income"].rank(method="min")
known = out.groupby(year)["income"].transform("count")
out["income_quintile"] = ((rank - 1) * 5 // known + 1).astype("Int64")
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
df = pl.from_pandas(out.reset_index()).with_columns(pl.col("death_date").cast(pl.Date))
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": len(out),
                  "version": pd.__version__, "checks": checks(df)}))
"""
)

SCAN = """
import json, resource, sys, time
import polars as pl
from paleval.registers import find_register_files
d = sys.argv[1]
cols = {"dod": ["PNR", "DODDATO"], "dodsaasg": ["PNR", "C_DODTILGRUNDL_ACME"],
        "bef": ["PNR", "FOED_DAG", "KOEN", "REG", "CIVST", "KOM", "FAMILIE_ID", "ANTPERSF"],
        "udda": ["PNR", "HFAUDD"], "faik": ["FAMILIE_ID", "FAMAEKVIVADISP_13"],
        "sssy": ["PNR", "HONUGE", "SPECIALE", "YDLTID", "YDLANT"],
        "terminal": ["PNR", "BEVILLING_DATO"], "dpd": ["PNR", "HENV_DATO"],
        "lmdb": ["PNR", "EKSD", "ATC"], "lpr_adm": ["PNR", "RECNUM", "D_INDDTO", "D_UDDTO",
                                                   "C_PATTYPE"],
        "lpr_diag": ["RECNUM", "C_DIAG"],
        "lpr_f_kontakter": ["PNR", "DW_EK_KONTAKT", "dato_start", "dato_slut"],
        "lpr_f_diagnoser": ["DW_EK_KONTAKT", "diagnosekode"]}
t0, c0 = time.perf_counter(), time.process_time()
rows = 0
for key, c in cols.items():
    files = [str(f.path) for f in find_register_files(d, key)]
    lf = pl.scan_parquet(files)
    # decode every value: the longest text / the largest value of each column
    lf.select([pl.col(x).cast(pl.String).str.len_bytes().max() for x in c]).collect(
        engine="streaming")
    rows += lf.select(pl.len()).collect().item()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "cpu": cpu, "rss_kib": rss, "rows": rows}))
"""


def _sssy_rows(d: str) -> int:
    from paleval.registers import find_register_files

    files = [str(f.path) for f in find_register_files(d, "sssy")]
    return pl.scan_parquet(files).select(pl.len()).collect().item()


def _agree(ref: dict, other: dict) -> str:
    diff = [k for k in ref if ref[k] != other.get(k)]
    if not diff:
        return f"all {len(ref)} checks equal"
    return "DIFFER: " + ", ".join(f"{k} {ref[k]} vs {other.get(k)}" for k in diff)


def main() -> None:
    dirs = sys.argv[1:]
    if not dirs:
        raise SystemExit(__doc__)
    results = []
    for d in dirs:
        res: dict[str, dict | str] = {}
        # a fresh cache directory: the first paleval run checks which parquet text columns
        # need cleaning and remembers it there; later runs on the same files skip the checks
        os.environ["PALEVAL_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-cohort-")
        res["paleval"] = run_child(PALEVAL, d)
        print(f"{d}: paleval {res['paleval']}", file=sys.stderr)
        res["paleval, column checks remembered"] = run_child(PALEVAL, d)
        print(f"{d}: paleval again {res['paleval, column checks remembered']}", file=sys.stderr)
        res["paleval end_of_life_cohort"] = run_child(EOL, d)
        print(f"{d}: end_of_life_cohort {res['paleval end_of_life_cohort']}", file=sys.stderr)
        res["DuckDB"] = run_child(DUCKDB, d)
        print(f"{d}: duckdb {res['DuckDB']}", file=sys.stderr)
        n_sssy = _sssy_rows(d)
        if n_sssy <= PANDAS_MAX_SSSY_ROWS:
            res["pandas"] = run_child(PANDAS, d)
            print(f"{d}: pandas {res['pandas']}", file=sys.stderr)
        else:
            res["pandas"] = (
                f"skipped: the health insurance register has {n_sssy:,} rows (more than "
                f"{PANDAS_MAX_SSSY_ROWS:,}); pandas would need about "
                f"{n_sssy / 1e7 * 3:.0f} GB for it (object strings)"
            )
        res["I/O floor"] = run_child(SCAN, d)
        print(f"{d}: scan {res['I/O floor']}", file=sys.stderr)
        results.append((d, res))
    print(
        f"\nmachine: {platform.machine()}, python {platform.python_version()}, "
        f"polars {pl.__version__}; date {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| data | implementation | cohort rows | input rows | wall (s) | CPU (s) | "
        "peak RSS (GiB) | input rows/s | wall vs paleval |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for d, res in results:
        pal = res["paleval"]
        n_in = res["I/O floor"]["rows"]
        for name, r in res.items():
            if isinstance(r, str):
                print(f"| {d} | {name} | — | {n_in:,} | — | — | — | — | {r} |")
                continue
            rows = f"{r['rows']:,}" if name != "I/O floor" else "—"
            label = name + (f" {r['version']}" if "version" in r else "")
            print(
                f"| {d} | {label} | {rows} | {n_in:,} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                f"{r['rss_kib'] / 2**20:.2f} | {n_in / r['wall']:,.0f} | "
                f"{r['wall'] / pal['wall']:.2f}x |"
            )
            if "checks" in r and name != "paleval":
                notes.append(f"- {d}: {name} vs paleval: {_agree(pal['checks'], r['checks'])}")
        notes.append(
            f"- {d}: paleval cohort {pal['rows']:,} x {pal['columns']} "
            f"({pal['deaths']:,} deaths in the period); checks {pal['checks']}"
        )
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
