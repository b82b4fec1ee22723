"""`reportgen diff OLD NEW`: what changed between two dataset folders, without building publications."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from reportgen.changes import run_diff
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.i18n import Formatter

FR = Formatter("fr", "EUR")
EN = Formatter("en", "EUR")


@pytest.fixture
def two_datasets(tmp_path, tiny_dataset_files, write_dataset):
    old = write_dataset(tmp_path / "old", tiny_dataset_files)
    files = dict(tiny_dataset_files)
    # NGA: one action 150 000 → 250 000; CHN's recommendation reworded in French; NGA's English narrative edited.
    files["actions.csv"] = files["actions.csv"].replace("2008,150 000,", "2008,250 000,")
    files["recommendations.csv"] = files["recommendations.csv"].replace(
        "Évaluer la coopération policière", "Évaluer puis étendre la coopération policière")
    files["narrative/en/countries/NGA.md"] = "Nigeria is a major country of origin and transit.\n"
    new = write_dataset(tmp_path / "new", files)
    return old, new


def test_diff_prints_every_change_per_publication(two_datasets, capsys, tmp_path):
    old, new = two_datasets
    out_json, out_html = tmp_path / "report" / "changes.json", tmp_path / "report" / "changes.html"
    assert run_diff(old, new, json_out=out_json, html_out=out_html) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == f"reportgen diff: {old} → {new}"
    assert (f"fr/countries/NGA: total committed {FR.money(350_000)} → {FR.money(450_000)} "
            f"(+{FR.money(100_000)})") in lines
    assert (f"en/countries/NGA: total committed {EN.money(350_000)} → {EN.money(450_000)} "
            f"(+{EN.money(100_000)})") in lines
    assert (f"fr/countries/NGA: action A-001 amount committed: {FR.money(150_000)} → {FR.money(250_000)} "
            f"(+{FR.money(100_000)})") in lines
    assert "fr/countries/CHN: recommendation R6 changed" in lines
    assert "en/countries/CHN: recommendation R6 changed" not in lines  # the English text did not change
    assert "en/countries/NGA: narrative changed" in lines
    assert "    +Nigeria is a major country of origin and transit." in lines
    # synthesis first, then regions, then countries
    heads = [line.split(" · ")[0] for line in lines if " · " in line]
    assert heads[:2] == ["fr/synthesis", "en/synthesis"]
    kinds = [h.split("/")[1] for h in heads]
    assert kinds == sorted(kinds, key=["synthesis", "regions", "countries"].index)
    # nothing was built
    assert not (old / "output").exists() and not (new / "output").exists()

    report = json.loads(out_json.read_text())
    assert report["first_build"] is False
    assert report["counts"]["publications"] == 18
    nga = next(p for p in report["publications"] if p["key"] == "fr/countries/NGA")
    total = next(f for f in nga["figures"] if f["id"] == "total.committed")
    assert total["difference"] == {"value": 100_000.0, "text": "+" + FR.money(100_000)}
    soup = BeautifulSoup(out_html.read_text(), "html.parser")
    assert soup.html["lang"] == "fr"  # the evaluation's main language
    assert soup.find(id="p-fr-countries-NGA")
    assert [i.get_text() for i in soup.find_all("ins")][0] == "puis étendre"


def test_diff_of_identical_folders_reports_nothing(tiny_dataset_dir, capsys):
    assert run_diff(tiny_dataset_dir, tiny_dataset_dir) == 0
    out = capsys.readouterr().out
    assert "0 publication(s) changed, 0 added, 0 removed, 18 unchanged" in out


def test_a_new_language_or_country_is_reported_as_added(tmp_path, tiny_dataset_files, write_dataset, capsys):
    files = dict(tiny_dataset_files)
    files["evaluation.yaml"] = files["evaluation.yaml"].replace("languages: [fr, en]", "languages: [fr]")
    old = write_dataset(tmp_path / "old", files)
    new_files = dict(tiny_dataset_files)
    new_files["actions.csv"] += "A-009,Nouvelle action,ALB,see,bilateral,,ONG,prevention,2011,1000,\n"
    new = write_dataset(tmp_path / "new", new_files)
    # old evaluation in French only: every English publication is new
    assert run_diff(old, new) == 0
    out = capsys.readouterr().out
    assert "en/countries/NGA: publication added" in out
    assert "fr/countries/NGA: publication added" not in out


def test_an_invalid_folder_is_named_with_its_first_problems(two_datasets, tmp_path):
    old, new = two_datasets
    actions = new / "actions.csv"
    actions.write_text(actions.read_text().replace("2008,250 000,", "2008,abc,"), encoding="utf-8")
    with pytest.raises(ReportgenError) as err:
        run_diff(old, new)
    message = str(err.value)
    assert f"the new dataset {new} has 1 error(s)" in message
    assert "actions.csv:2: committed" in message and "abc" in message
    with pytest.raises(ReportgenError, match="does not exist"):
        run_diff(tmp_path / "nowhere", new)


def test_cli_reports_errors_without_traceback(two_datasets, capsys):
    old, new = two_datasets
    (new / "evaluation.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    assert main(["diff", str(old), str(new)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: the new dataset") and "Traceback" not in err
