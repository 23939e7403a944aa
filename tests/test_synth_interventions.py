"""The planted intervention of the synthetic registers (``SynthConfig.interventions``).

Design (docs/methods.md, "Planted intervention"): the municipalities of the code list in code
order are dealt in turn to 2016-01-01, 2019-01-01 and never; from its adoption date an adopting
municipality's adult non-cancer decedents in a palliative-need group (by date of death) have
log 4 added to the log odds of SPC admittance. Everything here is recomputed from the code list
CSV and the raw BEF, DOD and DPD files (the cause group and adulthood from the per-person truth),
never through paleval's generator or cohort code.
"""

from __future__ import annotations

import csv
import json
import math
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from paleval.synth import SynthConfig, generate

NEED = ["heart", "respiratory", "stroke", "renal", "liver", "dementia", "neurodegenerative", "hiv"]


def _adoption_from_code_list() -> dict[str, str | None]:
    text = (resources.files("paleval.codes") / "data" / "municipalities.csv").read_text("utf-8")
    codes = sorted({int(r["KOM"]) for r in csv.DictReader(text.splitlines())})
    cycle = ["2016-01-01", "2019-01-01", None]
    return {str(k): cycle[i % 3] for i, k in enumerate(codes)}


def _raw_decedents(data: Path) -> pl.DataFrame:
    """Adult non-cancer-need and cancer decedents with their municipality (the last BEF status
    before death), death date, and first SPC contact (any DPD row admitted), from raw files."""
    persons = pl.read_parquet(data / "truth" / "persons.parquet")
    dod = pl.read_parquet(data / "dod" / "*.parquet").select("PNR", "DODDATO")
    bef = (
        pl.read_parquet(data / "bef" / "*.parquet")
        .select("PNR", "KOM", "REFERENCETID")
        .join(dod, on="PNR")
        .filter(pl.col("REFERENCETID") < pl.col("DODDATO"))
        .sort("REFERENCETID")
        .group_by("PNR")
        .agg(pl.col("KOM").last())
    )
    admitted = (
        pl.read_parquet(data / "dpd" / "*.parquet")
        .filter(pl.col("MODTAGET") == 1)
        .select("PNR")
        .unique()
        .with_columns(admitted_raw=pl.lit(True))
    )
    adoption = pl.DataFrame(
        {
            "KOM": list(_adoption_from_code_list()),
            "adopt": list(_adoption_from_code_list().values()),
        }
    ).with_columns(pl.col("adopt").str.to_date())
    return (
        persons.filter(pl.col("adult_decedent"))
        .select("PNR", "cause_group", "spc_p0", "spc_p1", "intervention_treated", "spc_admitted")
        .join(dod, on="PNR")
        .join(bef, on="PNR", how="left")
        .join(adoption, on="KOM", how="left")
        .join(admitted, on="PNR", how="left")
        .with_columns(
            pl.col("admitted_raw").fill_null(False),
            need=pl.col("cause_group").is_in(NEED),
            post=pl.col("adopt").is_not_null() & (pl.col("DODDATO") >= pl.col("adopt")),
        )
    )


@pytest.fixture(scope="module")
def raw(tiny_dir: Path) -> pl.DataFrame:
    return _raw_decedents(tiny_dir)


def test_truth_json_records_the_design(tiny_dir: Path) -> None:
    truth = json.loads((tiny_dir / "truth.json").read_text())
    (iv,) = truth["interventions"].values()
    expected = _adoption_from_code_list()
    assert iv["adoption"] == {k: v for k, v in expected.items() if v is not None}
    assert sorted(iv["never_adopting"]) == sorted(k for k, v in expected.items() if v is None)
    assert len(expected) == 98 and sum(v is None for v in expected.values()) == 32
    assert iv["log_odds_ratio"] == pytest.approx(math.log(4.0))
    assert iv["outcome"] == "spc_admitted"
    # the true ATT: mean of p1 - p0 among the treated, from the per-person truth
    p = pl.read_parquet(tiny_dir / "truth" / "persons.parquet").filter("intervention_treated")
    assert iv["att"] == pytest.approx((p["spc_p1"] - p["spc_p0"]).mean(), rel=1e-12)
    assert iv["treated_persons"] == p.height > 100


def test_treated_exactly_where_and_when_planted(raw: pl.DataFrame) -> None:
    """p1 > p0 for exactly the non-cancer-need decedents who died in an adopting municipality
    (BEF) on or after its adoption date (DOD); nobody else (cancer, never-adopters, before)."""
    assert raw["KOM"].null_count() == 0
    planted = raw["need"] & raw["post"]
    changed = (raw["spc_p1"] > raw["spc_p0"]).fill_null(False)
    assert (changed == planted).all()
    assert (raw["intervention_treated"] == planted).all()
    # on the log-odds scale the shift is log 4 for every treated person
    t = raw.filter(planted)
    lo = (t["spc_p1"] / (1 - t["spc_p1"])).log() - (t["spc_p0"] / (1 - t["spc_p0"])).log()
    assert (lo - math.log(4.0)).abs().max() < 1e-9
    # the wrong definitions: by region or by calendar year of referral would differ
    assert t.height > 100 and (raw["need"] & ~raw["post"]).sum() > 100


def test_effect_present_only_where_planted(raw: pl.DataFrame) -> None:
    """The admitted (raw DPD) among the treated match sum(p1), far above sum(p0); among the
    untreated need decedents they match sum(p0) (= sum(p1))."""
    assert (raw["admitted_raw"] == raw["spc_admitted"]).all()
    treated = raw.filter(pl.col("need") & pl.col("post"))
    untreated = raw.filter(pl.col("need") & ~pl.col("post"))
    for grp, p in ((treated, "spc_p1"), (untreated, "spc_p0")):
        mean = grp[p].sum()
        sd = (grp[p] * (1 - grp[p])).sum() ** 0.5
        assert abs(grp["admitted_raw"].sum() - mean) < 4 * sd, (p, grp["admitted_raw"].sum(), mean)
    counterfactual = treated["spc_p0"].sum()
    sd0 = (treated["spc_p0"] * (1 - treated["spc_p0"])).sum() ** 0.5
    assert treated["admitted_raw"].sum() > counterfactual + 4 * sd0


@pytest.fixture(scope="module")
def off_and_null(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("interventions")
    off, null = base / "off", base / "null"
    generate(SynthConfig.from_preset("tiny", seed=1, interventions=False), off)
    generate(SynthConfig.from_preset("tiny", seed=1, intervention_log_or=0.0), null)
    return off, null


def test_switched_off_the_registers_are_those_without_an_effect(
    off_and_null: tuple[Path, Path], tiny_dir: Path
) -> None:
    """Off: every register file byte-identical to an intervention of log OR 0 (the same draws,
    nothing else moved), no intervention columns, no truth; on (default): DPD differs."""
    off, null = off_and_null
    files = sorted(p.relative_to(off) for p in off.rglob("*.parquet") if "truth" not in p.parts)
    assert len(files) > 50
    for f in files:
        assert (off / f).read_bytes() == (null / f).read_bytes(), f
    assert (off / "dpd" / "dpd.parquet").read_bytes() != (
        tiny_dir / "dpd" / "dpd.parquet"
    ).read_bytes()
    cols = pl.read_parquet_schema(off / "truth" / "persons.parquet")
    assert "spc_p1" not in cols and "intervention_treated" not in cols
    assert json.loads((off / "truth.json").read_text())["interventions"] == {}


def test_bad_log_odds_ratio() -> None:
    with pytest.raises(ValueError, match="intervention_log_or"):
        SynthConfig.from_preset("tiny", intervention_log_or=float("nan"))


def test_cli_switch_in_help_and_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paleval.synth
    from paleval.cli import build_parser, main

    synth = build_parser()._subparsers._group_actions[0].choices["synth"]  # type: ignore[union-attr]
    assert "--no-interventions" in synth.format_help()
    got: list[SynthConfig] = []

    def fake_generate(cfg: SynthConfig, *args: object, **kwargs: object) -> None:
        got.append(cfg)
        raise RuntimeError("captured")

    monkeypatch.setattr(paleval.synth, "generate", fake_generate)
    for flags, on in (([], True), (["--no-interventions"], False), (["--clean"], True)):
        with pytest.raises(RuntimeError, match="captured"):
            main(["synth", "--preset", "tiny", "--out", str(tmp_path / "x"), *flags])
        assert got[-1].interventions is on
