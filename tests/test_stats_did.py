"""paleval.stats.did against R lm/sandwich 2x2 regressions and the did package's published
mpdta estimates (tests/reference/did.R)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.stats.did import DidResult, did_group_time

REF = Path(__file__).parent / "reference" / "did"
ATTGT = pl.read_csv(REF / "attgt.csv")
AGG = pl.read_csv(REF / "agg.csv", null_values="NA")
MPDTA = pl.read_csv(REF / "mpdta.csv")
SYNTH = pl.read_csv(REF / "synth.csv")
RTOL = 1e-6  # closed form

# did package README (github.com/bcallaway11/did, commit 71ba8a5), att_gt(yname = "lemp",
# gname = "first.treat", idname = "countyreal", tname = "year", xformla = ~1, data = mpdta,
# est_method = "reg"), printed to 4 decimals (its SEs there are bootstrap, not compared)
PUBLISHED_ATTGT = [
    (2004, 2004, -0.0105), (2004, 2005, -0.0704), (2004, 2006, -0.1373), (2004, 2007, -0.1008),
    (2006, 2004, 0.0065), (2006, 2005, -0.0028), (2006, 2006, -0.0046), (2006, 2007, -0.0412),
    (2007, 2004, 0.0305), (2007, 2005, -0.0027), (2007, 2006, -0.0311), (2007, 2007, -0.0261),
]  # fmt: skip
PUBLISHED_DYNAMIC = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510,
                     2: -0.1373, 3: -0.1008}  # fmt: skip
PUBLISHED_GROUP = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
PUBLISHED_OVERALL = {"event_study": -0.0772, "group": -0.031}


def fit(ds: str, control: str, cluster: bool) -> DidResult:
    if ds == "mpdta":
        return did_group_time(MPDTA, "lemp", "countyreal", "year", "first.treat", control=control)
    return did_group_time(
        SYNTH, "y", "unit", "period", "first_treated", control=control,
        cluster="region" if cluster else None,
    )  # fmt: skip


CASES = ATTGT.select("dataset", "control", "cluster").unique(maintain_order=True).rows()


@pytest.mark.parametrize(("ds", "control", "cluster"), CASES)
def test_group_time_matches_r_2x2_regressions(ds, control, cluster):
    res = fit(ds, control, cluster)
    ref = ATTGT.filter(
        (pl.col("dataset") == ds) & (pl.col("control") == control) & (pl.col("cluster") == cluster)
    )
    got = res.group_time.rename({"group": "g", "time": "t"})
    j = ref.join(got, on=["g", "t"], how="left", suffix="_py")
    assert got.height == ref.height and j["att_py"].null_count() == 0
    np.testing.assert_array_equal(j["base_period"], j["base"])
    np.testing.assert_array_equal(j["n_control_py"], j["n_control"])
    np.testing.assert_allclose(j["att_py"], j["att"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(j["std_error_py"], j["std_error"], rtol=RTOL)


@pytest.mark.parametrize(("ds", "control", "cluster"), CASES)
def test_aggregations_match_r(ds, control, cluster):
    res = fit(ds, control, cluster)
    ref = AGG.filter(
        (pl.col("dataset") == ds) & (pl.col("control") == control) & (pl.col("cluster") == cluster)
    )
    got = pl.concat(
        [
            res.event_study.select(pl.lit("dynamic").alias("type"), pl.col("event_time").alias("key"),
                                   "att", "std_error"),
            res.by_group.select(pl.lit("group").alias("type"), pl.col("group").alias("key"),
                                "att", "std_error"),
            res.overall.select(
                pl.col("aggregation").replace({"event_study": "dynamic_overall",
                                               "group": "group_overall"}).alias("type"),
                pl.lit(None, pl.Int64).alias("key"), "att", "std_error"),
        ]
    )  # fmt: skip
    j = ref.join(got, on=["type", "key"], how="left", nulls_equal=True, suffix="_py")
    assert j["att_py"].null_count() == 0 and got.height == ref.height
    np.testing.assert_allclose(j["att_py"], j["att"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(j["std_error_py"], j["std_error"], rtol=RTOL)


def test_mpdta_matches_published_did_output():
    res = fit("mpdta", "never", False)
    got = {(g, t): a for g, t, a in res.group_time.select("group", "time", "att").rows()}
    for g, t, a in PUBLISHED_ATTGT:
        assert round(got[g, t], 4) == pytest.approx(a, abs=1e-12)
    es = dict(res.event_study.select("event_time", "att").rows())
    assert {e: round(v, 4) for e, v in es.items()} == pytest.approx(PUBLISHED_DYNAMIC)
    bg = dict(res.by_group.select("group", "att").rows())
    assert {g: round(v, 4) for g, v in bg.items()} == pytest.approx(PUBLISHED_GROUP)
    ov = dict(res.overall.select("aggregation", "att").rows())
    assert round(ov["event_study"], 4) == pytest.approx(PUBLISHED_OVERALL["event_study"])
    assert round(ov["group"], 3) == pytest.approx(PUBLISHED_OVERALL["group"])


def test_planted_effects_inside_intervals():
    # synth.csv: effect 0.5 + 0.2 e from adoption; parallel trends hold
    res = fit("synth", "never", True)
    es = res.event_study.filter(pl.col("event_time") >= 0)
    truth = 0.5 + 0.2 * es["event_time"].to_numpy()
    assert np.all((es["conf_low"].to_numpy() < truth) & (truth < es["conf_high"].to_numpy()))
    pre = res.event_study.filter(pl.col("event_time") < 0)
    assert np.all((pre["conf_low"].to_numpy() < 0) & (0 < pre["conf_high"].to_numpy()))


def test_unbalanced_and_early_units_dropped():
    d = MPDTA.filter(~((pl.col("countyreal") == 8001) & (pl.col("year") == 2005)))
    d = d.with_columns(
        pl.when(pl.col("countyreal") == 8019).then(2003).otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )  # fmt: skip
    res = did_group_time(d, "lemp", "countyreal", "year", "first.treat")
    assert res.n_dropped_units == {"unbalanced": 1, "treated_at_start": 1}
    assert res.n_units == 498


def test_adoption_after_last_period_counts_as_never_treated():
    d = MPDTA.with_columns(
        pl.when(pl.col("first.treat") == 0).then(2010).otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )  # fmt: skip
    a = did_group_time(d, "lemp", "countyreal", "year", "first.treat").group_time
    b = fit("mpdta", "never", False).group_time
    np.testing.assert_allclose(a["att"], b["att"], rtol=1e-12)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ("dup", {}, r"\(unit, time\) pair\(s\) occur more than once"),
        ("vary", {}, r"first_treated column 'first.treat' varies within 1 unit"),
        ("none", {}, "no never-treated units"),
        (None, {"control": "all"}, "control must be"),
        (None, {"cluster": "lpop"}, "cluster column 'lpop' varies"),
        (None, {"cluster": "nope"}, r"column\(s\) \['nope'\] not found"),
    ],
)
def test_bad_input_messages(change, kwargs, message):
    d = MPDTA
    if change == "dup":
        d = pl.concat([d, d.head(1)])
    elif change == "vary":
        d = d.with_columns(
            pl.when((pl.col("countyreal") == 8001) & (pl.col("year") == 2003)).then(2006)
            .otherwise(pl.col("first.treat")).alias("first.treat")
        )  # fmt: skip
    elif change == "none":
        d = d.filter(pl.col("first.treat") > 0)
    if "cluster" in kwargs and kwargs["cluster"] == "lpop":
        d = d.with_columns(pl.col("lpop") + pl.col("year") * 1e-3)
    with pytest.raises(ValueError, match=message):
        did_group_time(d, "lemp", "countyreal", "year", "first.treat", **kwargs)


# --- simultaneous confidence bands (multiplier bootstrap) ---

# did README (github.com/bcallaway11/did, commit 0c4287f): att_gt(..., est_method = "reg") on
# mpdta with its default bootstrap bands (biters = 1000): printed SE (bootstrap) and the band's
# upper limit; the implied critical value is (upper - att) / se.
PUBLISHED_BANDS = {
    "group_time": [((2004, 2004), -0.0105, 0.0241, 0.0539), ((2004, 2005), -0.0704, 0.0313, 0.0131),
                   ((2004, 2006), -0.1373, 0.0380, -0.0357), ((2006, 2007), -0.0412, 0.0202, 0.0128),
                   ((2007, 2006), -0.0311, 0.0190, 0.0196), ((2007, 2007), -0.0261, 0.0182, 0.0225)],
    "event_study": [(-3, 0.0305, 0.0153, 0.0692), (-1, -0.0245, 0.0138, 0.0105),
                    (0, -0.0199, 0.0115, 0.0091), (2, -0.1373, 0.0356, -0.0470)],
    "by_group": [(2004, -0.0797, 0.0277, -0.0175), (2006, -0.0229, 0.0172, 0.0159),
                 (2007, -0.0261, 0.0177, 0.0138)],
}  # fmt: skip


def _band_fit(seed=7, biters=20000, **kw):
    return did_group_time(
        MPDTA, "lemp", "countyreal", "year", "first.treat", cband=True, biters=biters, seed=seed,
        **kw,
    )  # fmt: skip


def test_bands_match_published_did_mpdta():
    """Critical values within Monte Carlo error of did's (its 1,000 draws: SD about 0.05);
    a pointwise 1.96 or a Bonferroni value (2.87, 2.69, 2.39) fails."""
    res = _band_fit()
    tables = {"group_time": res.group_time, "event_study": res.event_study,
              "by_group": res.by_group}  # fmt: skip
    for name, rows in PUBLISHED_BANDS.items():
        implied = np.mean([(hi - att) / se for _, att, se, hi in rows])
        assert res.critical_values[name] == pytest.approx(implied, abs=0.1), name
        tab = tables[name]
        for key, _att, se, _hi in rows:
            if name == "group_time":
                row = tab.filter((pl.col("group") == key[0]) & (pl.col("time") == key[1]))
            else:
                row = tab.filter(pl.col(tab.columns[0]) == key)
            # did printed a 1,000-draw IQR estimate: relative MC SD about 4 %
            assert row["bootstrap_se"].item() == pytest.approx(se, rel=0.1)
            c = res.critical_values[name]
            assert row["band_high"].item() == pytest.approx(
                row["att"].item() + c * row["bootstrap_se"].item()
            )
    assert res.bootstrap == {"iterations": 20000, "seed": 7, "weights": "rademacher"}


def test_bands_reproducible_with_a_seed_and_at_least_pointwise():
    a, b, c = (
        _band_fit(seed=3, biters=500),
        _band_fit(seed=3, biters=500),
        _band_fit(seed=4, biters=500),
    )
    assert a.critical_values == b.critical_values
    assert a.event_study.equals(b.event_study)
    assert a.critical_values != c.critical_values
    for v in a.critical_values.values():
        assert v >= 1.959963984540054
    # bands contain the pointwise intervals
    es = a.event_study
    assert (es["band_high"] - es["att"] >= (es["conf_high"] - es["att"]) * 0.9).all()


def test_one_parameter_band_is_the_pointwise_interval():
    """One cohort, two periods: one ATT, so the sup-t value is the normal quantile (within
    Monte Carlo error; 2,000 units make the multiplier distribution nearly normal)."""
    rng = np.random.default_rng(11)
    n = 2000
    g = np.where(np.arange(n) < 700, 2, 0)
    y1 = rng.normal(size=n)
    y2 = y1 + 0.3 + 0.5 * (g == 2) + rng.normal(size=n)
    d = pl.DataFrame({"id": np.repeat(np.arange(n), 2), "t": np.tile([1, 2], n),
                      "y": np.column_stack([y1, y2]).ravel(), "g": np.repeat(g, 2)})  # fmt: skip
    for level, z in [(0.95, 1.959963984540054), (0.9, 1.6448536269514722)]:
        res = did_group_time(d, "y", "id", "t", "g", cband=True, biters=20000, seed=1,
                             conf_level=level)  # fmt: skip
        for name in ("group_time", "event_study", "by_group"):
            assert z <= res.critical_values[name] < z + 0.05
        gt = res.group_time
        assert gt["bootstrap_se"].item() == pytest.approx(gt["std_error"].item(), rel=0.03)


def test_bands_are_clustered():
    """With cluster='region' the multiplier is drawn per region: the bootstrap SEs follow the
    region-clustered SEs (which differ from the unit ones by 0.59 to 1.47 here)."""
    res = did_group_time(SYNTH, "y", "unit", "period", "first_treated", cluster="region",
                         cband=True, biters=20000, seed=1)  # fmt: skip
    ratio = (res.event_study["bootstrap_se"] / res.event_study["std_error"]).to_numpy()
    assert np.all((ratio > 0.85) & (ratio < 1.2))
    unit = fit("synth", "never", False).event_study["std_error"].to_numpy()
    wrong = res.event_study["bootstrap_se"].to_numpy() / unit
    assert not np.all((wrong > 0.85) & (wrong < 1.2))


def test_no_bands_by_default_and_biters_checked():
    res = fit("mpdta", "never", False)
    assert "band_low" not in res.event_study.columns and res.critical_values == {}
    with pytest.raises(ValueError, match="biters must be an integer"):
        _band_fit(biters=10)
