"""The register model and its generated data dictionary."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from paleval.codes import available_code_lists, load_codes
from paleval.registers import REGISTERS, data_dictionary

ROOT = Path(__file__).resolve().parents[1]


def test_data_dictionary_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "registers.md").read_text(encoding="utf-8")
    assert committed == data_dictionary(), "run: paleval dictionary --out docs/registers.md"


def test_every_register_has_unique_variable_names_and_a_person_or_record_key() -> None:
    for reg in REGISTERS.values():
        names = reg.columns
        assert len(names) == len(set(names)), reg.key
        assert set(reg.primary_key) <= set(names), reg.key
        assert reg.doc_url, f"{reg.key} has no documentation source"


def test_variable_lookup_names_the_register() -> None:
    with pytest.raises(KeyError, match="register 'bef' has no variable 'NOPE'"):
        REGISTERS["bef"].variable("NOPE")


def test_yearly_file_names_need_a_year() -> None:
    with pytest.raises(ValueError, match="yearly"):
        REGISTERS["bef"].file_name()
    assert REGISTERS["dod"].file_name() == "dod.parquet"


def test_code_lists_load_and_carry_sources() -> None:
    for name in available_code_lists():
        table = load_codes(name)
        assert table.height > 0, name
        assert "source" in table.columns, f"code list {name} has no source column"


def test_diagnosis_groups_match_murtagh_etkind() -> None:
    groups = load_codes("diagnosis_groups")
    by = dict(groups.group_by("group").agg(pl.col("icd10_prefix")).iter_rows())
    assert len(by["cancer"]) == 98  # C00-C97
    assert "I12" not in by["heart"] and "I12" in by["renal"]
    assert {"G122", "G231", "G903"} <= set(by["neurodegenerative"])
    assert groups["icd10_prefix"].is_unique().all()


def test_municipalities_cover_the_five_regions() -> None:
    m = load_codes("municipalities")
    assert m.height == 98
    assert sorted(m["REGIONSKODE"].unique()) == ["1081", "1082", "1083", "1084", "1085"]


def test_unknown_code_list_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no code list 'nope'"):
        load_codes("nope")
