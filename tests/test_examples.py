"""A second evaluation (examples/eau-sahel) and a new evaluation without ratings, recommendations, indicators or
narrative publish only what their data says: their figures and words, never another evaluation's.

The fast tests render the HTML of every publication in-process; the slow ones build through the real workflow
(`snakemake`) and read the PDFs too."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from reportgen.aggregate import compute_figures
from reportgen.context import RenderSettings, build_context
from reportgen.i18n import Formatter
from reportgen.init import init_dataset
from reportgen.model import Doc
from reportgen.render import make_environment, render_html
from reportgen.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "eau-sahel"

# The words of another evaluation (n° 128 and its funder), in both languages; and the DAC criteria an evaluation
# that declares its own criteria must not name.
FOREIGN = re.compile(r"\b(France|French|français\w*|française\w*|ambassades?|embass\w*|traite|trafficking|"
                     r"piliers?|pillars?)\b", re.IGNORECASE)
DAC_NAMES = re.compile(r"\b(relevance|coherence|effectiveness|efficiency|sustainability|durabilité|OECD|OCDE|DAC|"
                       r"CAD)\b")


def render_all(data: Path) -> dict[str, str]:
    """The text of every publication of ``data`` (HTML rendered as a build renders it), by stem."""
    result = validate_dataset(data)
    assert result.ok, [str(p) for p in result.problems]
    ds = result.dataset
    figures = compute_figures(ds)
    regions, countries = ds.brief_scopes()
    out = {}
    for lang in ds.evaluation.languages:
        env = make_environment(lang, template_dirs=[ROOT / "templates"])
        docs = [Doc(lang, "synthesis"), *(Doc(lang, "region", r) for r in regions),
                *(Doc(lang, "country", c) for c in countries)]
        for doc in docs:
            html = render_html(doc, build_context(doc, ds, figures, settings=RenderSettings()), env)
            out[doc.stem] = re.sub(r"[ \t\r\n]+", " ", BeautifulSoup(html, "html.parser").get_text(" "))
    return out


def foreign_words(texts: dict[str, str], pattern: re.Pattern) -> dict[str, list[str]]:
    return {stem: sorted(set(pattern.findall(text))) for stem, text in texts.items() if pattern.search(text)}


def committed_total(data: Path) -> float:
    with open(data / "actions.csv", encoding="utf-8") as f:
        return sum(float(r["committed"]) for r in csv.DictReader(f) if r["committed"])


@pytest.fixture(scope="module")
def example_texts():
    return render_all(EXAMPLE)


def test_example_publishes_its_own_figures_and_words(example_texts):
    assert set(example_texts) == {"fr/synthesis", "fr/regions/sahel-ouest", "fr/regions/sahel-central",
                                  "fr/regions/bassin-lac-tchad", *(f"fr/countries/{c}" for c in
                                                                   ("SEN", "MRT", "MLI", "BFA", "NER", "TCD", "CMR"))}
    synthesis = example_texts["fr/synthesis"]
    total = Formatter("fr", "XOF").money(committed_total(EXAMPLE))
    assert total.endswith("\u00a0F\u202fCFA") and total in synthesis  # the symbol after the number
    for words in ("Axes du programme", "Forages et adductions", "Recherche appliquée", "Effectivité", "Viabilité",
                  "au regard des 7 critères ci-dessous, notés chacun de 1 (très insuffisant) à 6 (excellent)",
                  "Transfrontalier", "subventions à des organisations non gouvernementales"):
        assert words in synthesis, words
    assert re.search(r"sur 6\b", synthesis) and not re.search(r"sur 4\b(?! actions)", synthesis)
    # Regions and countries without narrative say so in one sentence; none has indicators.
    assert "Les données ne comportent pas de texte pour cette section." in example_texts["fr/regions/sahel-ouest"]
    assert "Le Sahel central concentre" in example_texts["fr/regions/sahel-central"]
    assert "Le jeu de données ne contient pas d’indicateurs de contexte pour ce pays." in \
        example_texts["fr/countries/NER"]


def test_example_speaks_no_other_evaluations_words(example_texts):
    assert foreign_words(example_texts, FOREIGN) == {}
    assert foreign_words(example_texts, DAC_NAMES) == {}


@pytest.fixture(scope="module")
def bare_dataset(tmp_path_factory) -> Path:
    """A new evaluation (reportgen init) without ratings, recommendations, indicators or narrative, one region."""
    folder = tmp_path_factory.mktemp("bare") / "data"
    init_dataset(folder)
    for name in ("ratings.csv", "recommendations.csv"):
        (folder / name).unlink()
    shutil.rmtree(folder / "narrative")
    return folder


def test_bare_new_evaluation_replaces_each_absent_section_with_one_sentence(bare_dataset):
    texts = render_all(bare_dataset)
    synthesis = texts["en/synthesis"]
    for sentence in ("The dataset has no ratings: the actions were not scored against evaluation criteria.",
                     "No action has been rated: the dataset has no ratings.",
                     "The dataset has no recommendations.",
                     "The dataset has no narrative text for this section.",
                     "Every action of the evaluation is in one region: Example region."):
        assert sentence in synthesis, sentence
    assert "Table 6." not in synthesis and "Mean score" not in synthesis  # no score table
    assert "Figure 2." not in synthesis and "Table 2." not in synthesis  # no by-region chart or table
    country = texts["en/countries/KEN"]
    for sentence in ("No action in this country has been rated.",
                     "The dataset has no context indicators for this country.",
                     "The dataset has no narrative text for this section.",
                     "The evaluation makes no recommendation specific to this country"):
        assert sentence in country, sentence
    assert foreign_words(texts, FOREIGN) == {}
    # The skeleton declares its own criteria (relevance and added value): no other DAC name is printed.
    assert {w for words in foreign_words(texts, DAC_NAMES).values() for w in words} <= {"relevance"}


def test_dataset_without_themes_has_no_by_theme_table(bare_dataset, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(bare_dataset, folder)
    text = (folder / "evaluation.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\nthemes_title:.*?\n(?=# The criteria)", "\n", text, flags=re.S)
    (folder / "evaluation.yaml").write_text(text, encoding="utf-8")
    actions = (folder / "actions.csv").read_text(encoding="utf-8").splitlines()
    (folder / "actions.csv").write_text("\n".join(",".join(line.split(",")[:7] + line.split(",")[8:])
                                                  for line in actions) + "\n", encoding="utf-8")
    texts = render_all(folder)
    synthesis = texts["en/synthesis"]
    assert "The evaluation declares no themes: commitments are not broken down by theme." in synthesis
    assert "Table 5." not in synthesis and "Figure 4." not in synthesis
    assert "Themes" not in texts["en/countries/KEN"]  # no themes column in the actions table


def test_currency_formats_follow_the_currency_and_the_language():
    assert Formatter("fr", "XOF").money(1234567) == "1\u202f234\u202f567\u00a0F\u202fCFA"
    assert Formatter("en", "JPY").money(1234567.4) == "¥1,234,567"
    assert Formatter("fr", "JPY").money(1234567) == "1\u202f234\u202f567\u00a0JPY"
    assert Formatter("en", "USD").money(1234567) == "$1,234,567"


# ---------------------------------------------------------------------------------------------------------------
# Through the real workflow
# ---------------------------------------------------------------------------------------------------------------


def snakemake(data: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
           "--config", f"data={data}", f"output={out}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def pdf_text(path: Path) -> str:
    proc = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"[ \t\r\n]+", " ", proc.stdout)


@pytest.mark.slow
@pytest.mark.xdist_group("examples")
@pytest.mark.parametrize("which", ["example", "bare"])
def test_workflow_builds_publications_without_another_evaluations_words(which, bare_dataset, tmp_path):
    data = EXAMPLE if which == "example" else bare_dataset
    out = tmp_path / "out"
    snakemake(data, out)
    pdfs = sorted(out.glob("*/**/*.pdf"))
    htmls = sorted(p for p in out.glob("*/**/*.html") if p.name != "index.html")  # publications, not the site's
    lang = "fr" if which == "example" else "en"
    assert pdfs and {p.relative_to(out).parts[0] for p in pdfs} == {lang}  # one language only
    assert len(pdfs) == len(htmls) == len(render_all(data))
    texts = {p.relative_to(out).as_posix(): pdf_text(p) for p in pdfs}
    texts |= {p.relative_to(out).as_posix(): re.sub(r"[ \t\r\n]+", " ", BeautifulSoup(p.read_text(encoding="utf-8"),
                                                                                 "html.parser").get_text(" "))
              for p in htmls}
    assert foreign_words(texts, FOREIGN) == {}
    allowed = set() if which == "example" else {"relevance"}
    assert {w for words in foreign_words(texts, DAC_NAMES).values() for w in words} <= allowed
    if which == "example":
        total = Formatter("fr", "XOF").money(committed_total(EXAMPLE))
        synthesis = texts["fr/synthesis.pdf"]
        assert total.replace("\u202f", " ").replace("\u00a0", " ") in synthesis.replace("\u202f", " ").replace(
            "\u00a0", " ")
        assert "Axes du programme" in synthesis and "Viabilité" in synthesis
