"""``paleval synth``: one flag per realism feature (``--no-households`` etc.), checked before any
work and shown in ``--help``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import paleval.synth
from paleval.cli import SYNTH_FEATURES_OFF, build_parser, main
from paleval.synth.config import REALISM_FEATURES, SynthConfig


def _flag(feature: str) -> str:
    return "--no-" + feature.replace("_", "-")


class _Captured(Exception):
    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg


def test_every_realism_feature_has_a_flag_in_help() -> None:
    assert tuple(SYNTH_FEATURES_OFF) == REALISM_FEATURES
    synth = build_parser()._subparsers._group_actions[0].choices["synth"]  # type: ignore[union-attr]
    text = synth.format_help()
    for feature in REALISM_FEATURES:
        assert _flag(feature) in text
        assert feature in text


@pytest.mark.parametrize("feature", REALISM_FEATURES)
def test_each_flag_switches_off_its_feature_only(
    feature: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_generate(cfg: SynthConfig, *args: object, **kwargs: object) -> None:
        raise _Captured(cfg)

    monkeypatch.setattr(paleval.synth, "generate", fake_generate)
    with pytest.raises(_Captured) as got:
        main(["synth", "--preset", "tiny", "--out", str(tmp_path / "x"), _flag(feature)])
    cfg = got.value.cfg
    assert {f: cfg.realism(f) for f in REALISM_FEATURES} == {
        f: f != feature for f in REALISM_FEATURES
    }


def test_clean_with_a_feature_flag_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    called = []
    monkeypatch.setattr(paleval.synth, "generate", lambda *a, **k: called.append(a))
    out = tmp_path / "out"
    rc = main(["synth", "--preset", "tiny", "--out", str(out), "--clean", "--no-households"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "paleval synth: error:" in err and "--no-households" in err and "--clean" in err
    assert not called and not out.exists()


def test_no_households_and_no_nursing_homes_in_the_written_registers(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    argv = ["synth", "--preset", "tiny", "--persons", "3000", "--seed", "5", "--quiet"]
    rc = main([*argv, "--out", str(out), "--no-households", "--no-nursing-homes"])
    assert rc == 0
    bef = pl.read_parquet(out / "bef" / "*.parquet")
    # households off: every person is their own family (raw BEF, not the truth file)
    assert (bef["FAMILIE_ID"] == bef["PNR"]).all()
    assert not (out / "plh").exists() or pl.read_parquet(out / "plh" / "*.parquet").height == 0
    realism = json.loads((out / "truth.json").read_text())["realism"]
    assert realism["households"]["enabled"] is False
    assert realism["nursing_homes"]["enabled"] is False
    assert realism["migration"]["enabled"] is True
    # the same seed with every feature on has couples sharing a FAMILIE_ID and plh stays
    on = tmp_path / "on"
    assert main([*argv, "--out", str(on)]) == 0
    bef_on = pl.read_parquet(on / "bef" / "*.parquet")
    assert (bef_on["FAMILIE_ID"] != bef_on["PNR"]).any()
    assert pl.read_parquet(on / "plh" / "*.parquet").height > 0


@pytest.mark.parametrize(("argv", "years"), [([], 15), (["--lpr-lookback-years", "5"], 5)])
def test_lpr_lookback_years_flag(
    argv: list[str], years: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_generate(cfg: SynthConfig, *args: object, **kwargs: object) -> None:
        raise _Captured(cfg)

    monkeypatch.setattr(paleval.synth, "generate", fake_generate)
    with pytest.raises(_Captured) as got:
        main(["synth", "--preset", "tiny", "--out", str(tmp_path / "x"), *argv])
    assert got.value.cfg.lpr_lookback_years == years


def test_lpr_lookback_years_out_of_range_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(["synth", "--preset", "tiny", "--out", str(out), "--lpr-lookback-years", "40"])
    assert rc == 2
    assert "lpr_lookback_years" in capsys.readouterr().err and not out.exists()
