"""Guards for the fast paths of the generator (issue 13: national generation within 24 minutes).

The SSSY rows are grouped with one sort of a packed integer key and the files per year are written
as slices of frames ordered by year; these tests check the results against independent
computations from the written files.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paleval.registers import REGISTERS
from paleval.synth import config as C
from paleval.synth.events import SERVICES

generate_module = importlib.import_module("paleval.synth.generate")


def _files(data: Path, key: str) -> list[Path]:
    return sorted((data / key).glob("*.parquet"))


def test_sssy_rows_are_one_per_person_week_service_provider_and_time(tiny_dir: Path) -> None:
    for f in _files(tiny_dir, "sssy"):
        df = pl.read_parquet(f)
        year = int(f.stem[-4:])
        assert df.height > 0
        # HONUGE is YYWW of an ISO week of the file's year
        assert (df["HONUGE"].str.slice(0, 2).cast(pl.Int64) == year % 100).all()
        weeks = df["HONUGE"].str.slice(2, 2).cast(pl.Int64)
        last_week = dt.date(year, 12, 28).isocalendar()[1]
        assert weeks.min() >= 1 and weeks.max() <= last_week
        key = ["PNR", "HONUGE", "YDERNR", "SPECIALE", "YDLTID"]
        assert df.select(key).is_unique().all()
        # the fee is the number of services times the fee of the service (x1.6 out of hours)
        fee = df["SPECIALE"].str.slice(2).replace_strict(C.GP_FEES, return_dtype=pl.Float64)
        fee = fee * pl.Series(np.where(df["YDLTID"] == "2", C.OOH_FEE_FACTOR, 1.0))
        assert np.allclose(df["BRUHON"], (df["YDLANT"] * fee).round(2), atol=0.005)
        assert (df["YDLANT"] >= 1).all()
        # ordered by person, then payment week, service, provider, time of day
        runs = df["PNR"].ne_missing(df["PNR"].shift(1)).sum()
        assert runs == df["PNR"].n_unique()
        # (services in the generator's order of SERVICES, providers by number)
        service = (
            df["SPECIALE"]
            .str.slice(2)
            .replace_strict({c: i for i, c in enumerate(SERVICES)}, return_dtype=pl.Int64)
        )
        within = (
            df.with_row_index()
            .with_columns(service=service, provider=pl.col("YDERNR").cast(pl.Int64))
            .sort(["PNR", "HONUGE", "service", "provider", "YDLTID"])
        )
        firsts = within.group_by("PNR", maintain_order=True).agg(pl.col("index"))
        assert all(x == sorted(x) for x in firsts["index"].to_list())


def test_files_per_year_keep_the_row_order_of_an_unsorted_frame(
    tiny_dir: Path, tmp_path: Path
) -> None:
    lmdb = pl.concat([pl.read_parquet(f) for f in _files(tiny_dir, "lmdb")])
    lmdb = lmdb.with_columns(year=pl.col("EKSD").dt.year())
    shuffled = lmdb.sample(fraction=1.0, shuffle=True, seed=3)
    years = sorted(set(shuffled["year"].to_list()))
    assert len(years) > 3 and not shuffled["year"].is_sorted()
    sink = generate_module._Sink(tmp_path)
    sink.write_by_year("lmdb", shuffled, years)
    sink.close()
    reg = REGISTERS["lmdb"]
    for y in years:
        got = pl.read_parquet(tmp_path / "lmdb" / reg.file_name(y))
        want = shuffled.filter(pl.col("year") == y).select(got.columns)
        assert got.equals(want)
    with pytest.raises(AssertionError, match="outside the delivery years"):
        generate_module._Sink(tmp_path / "x").write_by_year("lmdb", shuffled, years[1:])
