"""Text from the data cannot inject markup, script, style, templates, formulas, paths or shell commands.

A whole build (stages validate → prepare → render → index, French, plus the English pages rendered in-process) of
a dataset whose every free-text field carries hostile strings: the pages show them as text; no element, attribute or
template expression comes from the data; the PDFs render; the exported CSV and XLSX neutralise formulas without
touching numbers. Codes that become file names are refused by validation before any path is made, and the workflow's
shell commands interpolate only config values (docs/security.md, "Injection").
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml
from bs4 import BeautifulSoup
from datasets import TINY_DATASET, write_dataset

from reportgen import build, state, worker
from reportgen.errors import ValidationFailed
from reportgen.plan import plan_documents
from reportgen.settings import Settings, template_dirs
from reportgen.schema import TABLES
from reportgen.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
ONE_BUILD = pytest.mark.xdist_group("security-injection")  # one worker builds the hostile dataset once

TEMPLATE = "{{ 7*7 }}"
RAW = "{% raw %}"
SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
STYLE = "</style><style>body{display:none}</style>"
JS = "javascript:alert(1)"
CSS = "red;background:url(http://127.0.0.1:9/css)}</style>"
TITLE = "</title><svg onload=alert(3)>"
COMMENT = "<!-- {# x #} -->"
HOSTILE = [TEMPLATE, RAW, SCRIPT, ATTR, STYLE, JS, CSS, TITLE, COMMENT]
ALL = " ".join(HOSTILE)  # one text carrying every payload

# Formula payloads (each also carries markup): (cell as written in the data, how it must reach the spreadsheet).
FORMULAS = {
    "=": '=HYPERLINK("http://127.0.0.1:9/x","clic") ' + ATTR,
    "+": "+1+1 " + TEMPLATE,
    "-": "-2+3 " + SCRIPT,
    "@": "@SUM(1+1) " + JS,
    "tab": "\t=1+2",  # the loader strips the tab: "=1+2" is what remains, and is neutralised
    "cr": "\r=3+4",
    "dde": "=cmd|' /C calc'!A0",
}


def _csv(rows: list[list[str]], sep: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return buf.getvalue()


def hostile_dataset() -> dict[str, str]:
    """One region (see), two countries (ALB, XKX); every free-text field hostile."""
    evaluation = yaml.safe_load(TINY_DATASET["evaluation.yaml"])
    evaluation["title"] = {"fr": f"Évaluation {ALL}", "en": f"Evaluation {ALL}"}
    evaluation["subtitle"] = {"fr": f"Sous-titre {SCRIPT}", "en": f"Subtitle {ATTR}"}
    evaluation["commissioner"] = {"fr": f"Ministère {STYLE}", "en": f"Ministry {TEMPLATE}"}
    evaluation["evaluator"] = f"Cabinet {ATTR} {TEMPLATE}"
    evaluation["indicators"]["tip_tier"]["label"] = {"fr": f"Classement {SCRIPT}", "en": f"Tier {ATTR}"}
    evaluation["indicators"]["tip_tier"]["unit"] = f"rang {CSS}"
    files = {
        "evaluation.yaml": yaml.safe_dump(evaluation, allow_unicode=True, sort_keys=False),
        "regions.csv": _csv([["region", "name_fr", "name_en"],
                             ["see", f"Europe {ALL}", f"Europe {ATTR} {TEMPLATE}"]]),
        "countries.csv": _csv([["country", "region", "name_fr", "name_en"],
                               ["ALB", "see", f"Albanie {ALL}", f"Albania {SCRIPT}"],
                               ["XKX", "see", "", ""]]),
        "actions.csv": _csv([
            ["action_id", "title", "country", "region", "channel", "instrument", "partner", "pillars", "year",
             "committed", "disbursed"],
            ["A-001", f"Titre {ALL}", "", "see", "regional", FORMULAS["-"], FORMULAS["="],
             "partnership;prevention", "2007", "320000", "300000"],
            ["A-002", FORMULAS["+"], "ALB", "see", "bilateral", FORMULAS["tab"], FORMULAS["@"], "prosecution",
             "2009", "45000.5", "45000.5"],
            ["A-003", FORMULAS["dde"], "XKX", "", "bilateral", "", FORMULAS["cr"], "protection", "2010", "60000",
             ""],
        ]),
        "ratings.csv": _csv([["action_id", "criterion", "score", "comment"],
                             ["A-001", "relevance", "4", f"Commentaire {ALL}"],
                             ["A-002", "impact", "3", FORMULAS["="]],
                             ["A-003", "coherence", "2", f"{JS} {COMMENT}"]], sep=";"),
        "recommendations.csv": _csv([
            ["rec_id", "scope", "priority", "addressee", "text_fr", "text_en"],
            ["R1", "global", "high", f"DGM {ATTR}", f"Recommandation {ALL}", f"Recommendation {ALL}"],
            ["R2", "see", "medium", FORMULAS["@"], f"{TEMPLATE} régional", f"{SCRIPT} regional"],
            ["R3", "ALB", "low", "Ambassade", FORMULAS["+"], FORMULAS["-"]],
        ]),
        "indicators.csv": _csv([["country", "indicator", "year", "value", "source"],
                                ["ALB", "tip_tier", "2008", "3", f"Source {ALL}"],
                                ["ALB", "tip_tier", "2011", "-2.5", FORMULAS["="]]]),
    }
    narrative = (f"## Contexte {TEMPLATE}\n\n{ALL}\n\n[lien]({JS}) [autre](javascript:alert(2)) "
                 f"{RAW} texte {{% endraw %}}\n\n<style>body{{display:none}}</style>\n")
    for lang in ("fr", "en"):
        files[f"narrative/{lang}/synthesis.md"] = narrative
        files[f"narrative/{lang}/regions/see.md"] = narrative
        files[f"narrative/{lang}/countries/ALB.md"] = narrative
    return files


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile dataset built in French (HTML, PDF, data files, catalogue) and its English pages (HTML only)."""
    base = tmp_path_factory.mktemp("hostile")
    data = write_dataset(base / "data", hostile_dataset())
    s = Settings.from_mapping({"data": str(data), "output": str(base / "out"), "languages": ["fr"]})
    result = build.stage_validate(s, quiet=True)
    assert result.ok, [str(p) for p in result.errors]
    build.stage_prepare(s)
    results = build.stage_render(s, 0, jobs=2)
    build.stage_index(s)
    pages = {r.key: (s.output / f"{r.key}.html").read_text(encoding="utf-8") for r in results}
    pages["index"] = (s.output / "index.html").read_text(encoding="utf-8")
    pages["fr/index"] = (s.output / "fr" / "index.html").read_text(encoding="utf-8")  # the titles are listed here
    # English pages, rendered as the render stage does (without their PDFs: the PDFs are checked in French).
    from reportgen.context import build_context
    from reportgen.render import make_environment, render_html

    ds, figures = state.read_pickle(state.model_path(s.output), "model")
    env = make_environment("en", template_dirs=template_dirs(s.templates))
    rs = worker.make_render_settings(s, ds)
    for doc in plan_documents(ds, ("en",)):
        pages[doc.key] = render_html(doc, build_context(doc, ds, figures, settings=rs), env)
    return s, results, pages


def _text(soup: BeautifulSoup) -> str:
    return re.sub(r"[\u00a0\u202f\s]+", " ", soup.get_text(" "))


@pytest.mark.slow
@ONE_BUILD
def test_every_publication_of_the_hostile_dataset_renders(hostile):
    s, results, pages = hostile
    assert {r.key: r.status for r in results} == {k: "built" for k in
                                                  ("fr/synthesis", "fr/regions/see", "fr/countries/ALB",
                                                   "fr/countries/XKX")}
    assert not [w for r in results for w in r.warnings if "SVG" in w or "image" in w.lower()]
    for r in results:
        assert (s.output / f"{r.key}.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.slow
@ONE_BUILD
@pytest.mark.parametrize("key", ["fr/synthesis", "fr/regions/see", "fr/countries/ALB", "en/synthesis",
                                 "en/regions/see", "en/countries/ALB", "index", "fr/index"])
def test_hostile_text_is_shown_as_text_never_as_markup(hostile, key):
    _, _, pages = hostile
    html = pages[key]
    soup = BeautifulSoup(html, "html.parser")
    # No element made from the data: no script, no image but the charts, no style element, one title, no svg.
    assert not soup.find_all("script")
    assert not soup.find_all("style")
    assert not soup.find_all("svg")
    assert len(soup.find_all("title")) == 1
    for img in soup.find_all("img"):
        assert img["src"].startswith("data:image/svg+xml;base64,"), img
    for tag in soup.find_all(True):
        handlers = [a for a in tag.attrs if a.lower().startswith("on")]
        assert not handlers, tag
        for attr in ("href", "src", "style"):
            value = str(tag.get(attr, ""))
            assert not re.match(r"\s*(javascript|vbscript|data:text)", value, re.I), tag
            assert "url(http" not in value and "</style" not in value, tag
        if tag.name == "col":  # the only style attributes: widths written by the templates
            assert re.fullmatch(r"width: [\d.]+%", tag.get("style", "")), tag
        else:
            assert "style" not in tag.attrs, tag
    text = _text(soup)
    # Shown literally: the template expression is not evaluated, the markup is visible.
    assert TEMPLATE in text
    assert SCRIPT in text
    assert ATTR in text
    assert "{% raw %}" in text or "{%\u00a0raw\u00a0%}" in soup.get_text()
    # Attributes carry the hostile text as a value, never broken open.
    assert TEMPLATE in html.replace("&#34;", '"') or key in ("index", "fr/index")


@pytest.mark.slow
@ONE_BUILD
def test_the_template_expression_is_never_evaluated(hostile):
    _, _, pages = hostile
    for key, html in pages.items():
        text = _text(BeautifulSoup(html, "html.parser"))
        assert "Évaluation 49" not in text and "Evaluation 49" not in text, key
        assert "{{ 7*7 }}" in text, key


@pytest.mark.slow
@ONE_BUILD
def test_the_pdfs_print_the_hostile_text_literally(hostile):
    s, _, _ = hostile
    out = subprocess.run(["pdftotext", "-layout", str(s.output / "fr" / "synthesis.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"[\u00a0\u202f\s]+", " ", out)
    assert "{{ 7*7 }}" in flat
    assert "<script>alert(1)</script>" in flat


# ------------------------------------------------------------------------------------------------------------------
# Exports: formula injection
# ------------------------------------------------------------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _expected(cell: str) -> str:
    return "'" + cell.strip()


@pytest.mark.slow
@ONE_BUILD
def test_csv_exports_neutralise_formulas(hostile):
    s, _, _ = hostile
    seen: set[str] = set()
    numbers: dict[str, list[str]] = {}
    for path in sorted((s.output / "data").glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        header, body = rows[0], rows[1:]
        for row in body:
            for column, cell in zip(header, row):
                if re.fullmatch(r"-?\d+(\.\d+)?", cell):
                    numbers.setdefault(f"{path.stem}.{column}", []).append(cell)
                    continue
                assert not cell.startswith(TRIGGERS), (path.name, column, cell)
                seen.add(cell)
    for name, cell in FORMULAS.items():
        assert _expected(cell) in seen, name
    # Numbers stay numbers: a negative indicator value is not prefixed, amounts are plain.
    assert "-2.5" in numbers["indicators.value_latest"]
    assert "45000.5" in numbers["actions.committed"]


@pytest.mark.slow
@ONE_BUILD
def test_the_workbook_neutralises_formulas_and_keeps_numbers(hostile):
    s, _, _ = hostile
    wb = openpyxl.load_workbook(s.output / "data" / "figures.xlsx")
    texts: set[str] = set()
    numeric: dict[str, list[float]] = {}
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            for column, cell in zip(header, row):
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), (ws.title, cell.coordinate, cell.value)
                    texts.add(cell.value)
                elif isinstance(cell.value, (int, float)):
                    assert cell.data_type == "n"
                    numeric.setdefault(f"{ws.title}.{column}", []).append(cell.value)
    for name, cell in FORMULAS.items():
        assert _expected(cell) in texts, name
    assert -2.5 in numeric["indicators.value_latest"]
    assert 45000.5 in numeric["actions.committed"]


# ------------------------------------------------------------------------------------------------------------------
# Codes that become file names; nothing from the data reaches a shell
# ------------------------------------------------------------------------------------------------------------------

BAD_CODES = {
    "parent folders": ("../../x", "../../X"),
    "a folder": ("ab/cd", "AB/CD"),
    "a device name": ("CON", "CON"),
    "too long": ("r" * 41, "A" * 41),
    "absolute": ("/tmp/x", "/TMP"),
    "a space": ("a b", "A B"),
}


def _with_codes(region: str, country: str) -> dict[str, str]:
    files = dict(TINY_DATASET)
    files["regions.csv"] += _csv([[region, "R", "R"]])
    files["countries.csv"] += _csv([[country, region, "", ""]])
    files["actions.csv"] += _csv([["A-100", "t", country, region, "bilateral", "", "p", "prevention", "2008",
                                   "10", ""]])
    files[f"narrative/fr/regions/{region.replace('/', '_')}.md"] = "texte\n"
    return files


@pytest.mark.parametrize("what", list(BAD_CODES))
def test_codes_that_would_be_unsafe_file_names_are_refused_before_any_path_is_made(what, tmp_path):
    region, country = BAD_CODES[what]
    data = write_dataset(tmp_path / "data", _with_codes(region, country))
    before = {p for p in tmp_path.rglob("*")}
    result = validate_dataset(data)
    assert not result.ok and result.dataset is None
    refused = {(p.file, p.column) for p in result.errors if p.value in (region, country)}
    assert {("regions.csv", "region"), ("countries.csv", "country"), ("countries.csv", "region")} <= refused
    s = Settings.from_mapping({"data": str(data), "output": str(tmp_path / "out")})
    with pytest.raises(ValidationFailed):
        build.stage_validate(s, quiet=True)
    after = {p for p in tmp_path.rglob("*")}
    written = {p.relative_to(tmp_path).as_posix() for p in after - before}
    # The tables as read and checked, kept for the next validation (validate.TableCache): named by table, never by
    # a code of the data.
    kept = {w for w in written if w.startswith("out/.reportgen/validated")}
    assert kept <= {"out/.reportgen/validated", *(f"out/.reportgen/validated/{name}.pickle" for name in TABLES)}
    assert written - kept == {"out", "out/validation.json", "out/validation.html", "out/.reportgen",
                              "out/.reportgen/validation-failed"}
    assert not (tmp_path.parent / "x").exists() and not list(Path("/tmp").glob("x.*html"))


def _smk_sources() -> dict[str, str]:
    paths = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def test_the_only_wildcard_is_the_constrained_shard_number():
    sources = _smk_sources()
    text = "\n".join(sources.values())
    wildcards = set(re.findall(r"\{wildcards\.(\w+)", text)) | set(re.findall(r"(?<!\{)\{\{(\w+)\}\}(?!\})", text))
    assert wildcards == {"shard"}
    assert re.search(r'^\s*shard=r"\\d\+",\s*$', sources["common.smk"], re.M)


def test_shell_commands_interpolate_only_config_values():
    """Each rule's shell command uses the config's folders, its params (from the config), its log and threads."""
    allowed = {"DATA:q", "OUT:q", "log:q", "threads", "wildcards.shard"}
    for name, text in _smk_sources().items():
        for block in re.findall(r'shell:\s*\n\s*"""(.*?)"""', text, re.S):
            fields = set(re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", block))
            params = {f for f in fields if f.startswith("params.")}
            assert fields - params <= allowed, (name, fields - params - allowed)
            assert "input" not in " ".join(fields), name  # data file names are inputs: never in a command
        for names in re.findall(r"params:\s*\n((?:\s+\w+=.*\n)+)", text):
            for line in names.strip().splitlines():
                value = line.split("=", 1)[1].strip().rstrip(",")
                # DATA is config["data"]; output_folder derives config["output"] from the rule's own output path.
                assert value.startswith(('config["', "SHARDS", "languages_flag", "DATA", "output_folder")), (name, line)
    schema = yaml.safe_load((ROOT / "config" / "config.schema.yaml").read_text(encoding="utf-8"))
    # Values interpolated without quoting are typed by the config schema (numbers; languages: letters only).
    props = schema["properties"]
    assert props["languages"]["items"]["pattern"] == "^[a-z]{2,3}$"
    for key in ("shards", "max_xlsx_mb", "render_timeout", "render_memory_mb"):
        assert props[key]["type"] in ("integer", "number"), key
    for hook in re.findall(r"shell\((.*)\)", _smk_sources()["Snakefile"]):
        assert "shlex.quote(OUT)" in hook and "shlex.quote(DATA)" in hook


@pytest.mark.slow
@pytest.mark.xdist_group("workflow")
def test_file_names_of_the_dataset_never_reach_a_command(tmp_path):
    """A dry run prints every command the workflow would run: hostile file names of the dataset are in none."""
    files = dict(TINY_DATASET)
    files["narrative/fr/regions/$(touch PWNED);`touch PWNED2`.md"] = "x\n"
    files["assets/'; touch PWNED3; '.png"] = "x"
    data = write_dataset(tmp_path / "data", files)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "1", "-n", "-p", "--quiet", "progress",
         "--config", f"data={data}", f"output={tmp_path / 'out'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = (proc.stdout + proc.stderr).splitlines()
    commands = []
    for i, line in enumerate(printed):
        if line.startswith("Shell command:"):
            block = []
            for following in printed[i + 1:]:
                if not following.strip() and block:
                    break
                block.append(following.strip())
            commands.append(" ".join(block))
    commands = "\n".join(commands)
    assert "reportgen prepare" in commands and "reportgen render" in commands and "reportgen index" in commands
    assert "assets" in (proc.stdout + proc.stderr)  # the hostile names are inputs of the prepare rule…
    assert "PWNED" not in commands
    assert not list(ROOT.glob("PWNED*")) and not list(tmp_path.rglob("PWNED*"))
