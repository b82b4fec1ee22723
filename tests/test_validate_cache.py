"""The tables a validation keeps for the next one (reportgen.validate.TableCache): taken back only when everything
their reading and checking depend on is what it was, with the same result as reading them again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from datasets import TINY_DATASET, write_dataset

from reportgen import validate
from reportgen.validate import TableCache, validate_dataset


@pytest.fixture
def reads(monkeypatch):
    """The tables read from their files (not taken from the cache), in order."""
    seen: list[str] = []
    original = validate.read_table

    def read_table(root, name, **kw):
        seen.append(name)
        return original(root, name, **kw)

    monkeypatch.setattr(validate, "read_table", read_table)
    return seen


def _same(a, b) -> None:
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert (a.dataset is None) == (b.dataset is None)
    if a.dataset is None:
        return
    for f in dataclasses.fields(a.dataset):
        x, y = getattr(a.dataset, f.name), getattr(b.dataset, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            assert x == y, f.name


def test_unchanged_tables_are_taken_back_with_the_same_result(tmp_path, reads):
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    cache = TableCache(tmp_path / "cache")
    first = validate_dataset(data, cache=cache)
    assert "ratings" in reads and "actions" in reads
    reads.clear()
    again = validate_dataset(data, cache=cache)
    assert reads == []
    _same(first, again)
    _same(validate_dataset(data), again)


def test_an_edited_table_is_read_again_and_so_is_a_table_whose_references_changed(tmp_path, reads):
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    cache = TableCache(tmp_path / "cache")
    validate_dataset(data, cache=cache)
    # A-008 is renamed: actions.csv changes, and ratings.csv (unchanged) now refers to an action that is not there.
    (data / "actions.csv").write_text(TINY_DATASET["actions.csv"].replace("A-008,", "A-009,"), encoding="utf-8")
    reads.clear()
    result = validate_dataset(data, cache=cache)
    assert "actions" in reads and "ratings" in reads and "regions" not in reads
    assert any(p.file == "ratings.csv" and p.value == "A-008" for p in result.problems)
    _same(validate_dataset(data), result)


def test_a_changed_evaluation_reads_every_table_again(tmp_path, reads):
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    cache = TableCache(tmp_path / "cache")
    validate_dataset(data, cache=cache)
    (data / "evaluation.yaml").write_text(TINY_DATASET["evaluation.yaml"] + "\n# edited\n", encoding="utf-8")
    reads.clear()
    validate_dataset(data, cache=cache)
    assert {"regions", "countries", "actions", "ratings"} <= set(reads)


def test_a_broken_or_foreign_entry_is_no_entry(tmp_path, reads):
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    cache = TableCache(tmp_path / "cache")
    first = validate_dataset(data, cache=cache)
    (tmp_path / "cache" / "ratings.pickle").write_bytes(b"not a pickle")
    (tmp_path / "cache" / "regions.pickle").write_bytes((tmp_path / "cache" / "countries.pickle").read_bytes())
    reads.clear()
    again = validate_dataset(data, cache=cache)
    assert set(reads) == {"ratings", "regions"}
    _same(first, again)


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    (tmp_path / "file").write_text("")
    result = validate_dataset(data, cache=TableCache(tmp_path / "file" / "cache"))
    _same(validate_dataset(data), result)


def test_a_file_saved_between_the_two_reads_is_not_kept_under_the_other_bytes_key(tmp_path, monkeypatch):
    """The key is made from the bytes read first; the table from a second read. A save in between (a writer saving
    during a build) must not leave the new table under the old bytes' key, to be taken back for the old file."""
    data = write_dataset(tmp_path / "data", TINY_DATASET)
    cache = TableCache(tmp_path / "cache")
    original_key = TableCache.key
    edited = TINY_DATASET["ratings.csv"].replace("A-001;relevance;4;", "A-001;relevance;1;")

    def key_then_save(root, name, *args):
        keyed = original_key(root, name, *args)
        if name == "ratings":
            (data / "ratings.csv").write_text(edited, encoding="utf-8")
        return keyed

    monkeypatch.setattr(TableCache, "key", staticmethod(key_then_save))
    validate_dataset(data, cache=cache)
    assert not (tmp_path / "cache" / "ratings.pickle").exists()
    assert (tmp_path / "cache" / "actions.pickle").exists()
