"""The warm preview engine (reportgen.preview): a save re-renders the HTML at once (open pages first), then the PDF,
through the build's own functions and state; a broken save is reported and the last good pages kept; the last save
wins; nothing is left in the temporary folder."""

from __future__ import annotations

import os
import tempfile
import threading
import time

import pytest

from reportgen import build, state
from reportgen.model import Doc
from reportgen.preview import Engine, Listener, classify
from reportgen.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.xdist_group("preview")

NGA = Doc("en", "country", "NGA")


class Events:
    """What the engine told the server."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pages: list[str] = []
        self.pdfs: list[str] = []
        self.problems: list[tuple[str, list[str]]] = []

    def listener(self) -> Listener:
        def add(name):
            def f(*args):
                with self.lock:
                    getattr(self, name).append(args[0] if len(args) == 1 else args)
            return f
        return Listener(page=add("pages"), pdf=add("pdfs"), problems=add("problems"))


def wait_for(predicate, what: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prepared(tmp_path, tiny_dataset_files, write_dataset):
    files = {k: v for k, v in tiny_dataset_files.items()}
    files["narrative/en/countries/NGA.md"] = "Nigeria is a country of origin.\n"
    data = write_dataset(tmp_path / "data", files)
    s = Settings.from_mapping({"data": str(data), "output": str(tmp_path / "out"), "languages": ["en"]})
    build.stage_prepare(s, quiet=True)
    return s


def test_changes_are_sorted_by_what_they_require(tmp_path):
    s = Settings.from_mapping({"data": str(tmp_path / "data"), "output": str(tmp_path / "out")})
    c = classify([tmp_path / "data" / "narrative" / "en" / "synthesis.md", tmp_path / "data" / "actions.csv",
                  PROJECT_ROOT / "templates" / "country.html.j2", PROJECT_ROOT / "templates" / "css" / "common.css",
                  PROJECT_ROOT / "src" / "reportgen" / "aggregate.py",
                  PROJECT_ROOT / "src" / "reportgen" / "locale" / "fr" / "LC_MESSAGES" / "messages.po"], s)
    assert [p.name for p in c.narratives] == ["synthesis.md"]
    assert [p.name for p in c.data] == ["actions.csv"]
    assert sorted(p.name for p in c.templates) == ["country.html.j2", "messages.po"]
    assert [p.name for p in c.assets] == ["common.css"]
    assert [p.name for p in c.code] == ["aggregate.py"]


@pytest.mark.slow
def test_a_save_shows_at_once_then_its_pdf_and_a_build_finds_it_up_to_date(prepared):
    s = prepared
    events = Events()
    engine = Engine(s, events.listener(), viewing=lambda: {"/en/countries/NGA.html"})
    html = s.output / "en" / "countries" / "NGA.html"
    engine.start()
    try:
        # The first pass renders every page (the open one first) and every PDF.
        wait_for(lambda: engine.idle() and engine.passes >= 1, "the first pass and its PDFs")
        assert events.pages[0] == "en/countries/NGA"
        assert "Nigeria is a country of origin." in html.read_text(encoding="utf-8")
        assert events.problems and events.problems[-1] == ("", [])

        # A narrative save: that page only, its HTML before its PDF.
        before = len(events.pages)
        (s.data / "narrative" / "en" / "countries" / "NGA.md").write_text("Nigeria is a hub of transit.\n",
                                                                         encoding="utf-8")
        engine.submit([s.data / "narrative" / "en" / "countries" / "NGA.md"])
        wait_for(lambda: len(events.pages) > before, "the page", timeout=60)
        assert events.pages[before:] == ["en/countries/NGA"]
        assert "Nigeria is a hub of transit." in html.read_text(encoding="utf-8")
        wait_for(lambda: engine.idle(), "its PDF")
        assert events.pdfs[-1] == "en/countries/NGA"
    finally:
        engine.close()
    # The build state is true: the workflow's next run (prepare, as the narrative changed, then render) finds every
    # publication up to date: nothing is rendered again.
    build.stage_prepare(s, quiet=True)
    results = build.stage_render(s, 0, jobs=1)
    assert {r.status for r in results} == {"unchanged"}
    assert not state.tmp_dir(s.output, f"preview-{os.getpid()}").exists()


@pytest.mark.slow  # several saves, each validating the dataset again (~15 s): the full tier's
def test_a_broken_save_is_reported_keeps_the_last_good_page_and_clears_when_fixed(prepared):
    s = prepared
    events = Events()
    engine = Engine(s, events.listener(), pdfs=False)
    html = s.output / "en" / "countries" / "NGA.html"
    engine.start()
    try:
        wait_for(lambda: engine.passes >= 1 and not engine.busy(), "the first pass")
        good = html.read_text(encoding="utf-8")
        actions = s.data / "actions.csv"
        text = actions.read_text(encoding="utf-8")
        actions.write_text(text.replace("2008,150 000,", "2008,\"$150,000\","), encoding="utf-8")
        engine.submit([actions])
        wait_for(lambda: events.problems and events.problems[-1][0] == "validation", "the problems", 60)
        failure, lines = events.problems[-1]
        assert any(line.startswith("error: actions.csv:2: committed:") and "$150,000" in line for line in lines), lines
        assert html.read_text(encoding="utf-8") == good  # the last good page stays
        assert state.validation_failed_path(s.output).is_file()
        assert "$150,000" in (s.output / "validation.json").read_text(encoding="utf-8")

        # Two saves in a row: the last one wins.
        narrative = s.data / "narrative" / "en" / "countries" / "NGA.md"
        narrative.write_text("First fix.\n", encoding="utf-8")
        actions.write_text(text, encoding="utf-8")
        engine.submit([actions, narrative])
        narrative.write_text("Second fix.\n", encoding="utf-8")
        engine.submit([narrative])
        wait_for(lambda: events.problems[-1] == ("", []) and not engine.busy()
                 and "Second fix." in html.read_text(encoding="utf-8"), "the fix", 60)
        assert not state.validation_failed_path(s.output).exists()
    finally:
        engine.close()


@pytest.mark.slow  # several saves, each validating the dataset again (~15 s): the full tier's
def test_a_broken_template_is_reported_and_the_pages_kept(prepared, tmp_path):
    override = tmp_path / "override"
    override.mkdir()
    s = Settings.from_mapping({**{k: str(v) for k, v in (("data", prepared.data), ("output", prepared.output))},
                               "languages": ["en"], "templates": str(override)})
    events = Events()
    engine = Engine(s, events.listener(), pdfs=False)
    html = s.output / "en" / "countries" / "NGA.html"
    engine.start()
    try:
        wait_for(lambda: engine.passes >= 1 and not engine.busy(), "the first pass")
        good = html.read_text(encoding="utf-8")
        template = override / "country.html.j2"
        template.write_text((PROJECT_ROOT / "templates" / "country.html.j2").read_text(encoding="utf-8")
                            .replace("{% endblock %}", "{% if %}{% endblock %}", 1), encoding="utf-8")
        engine.submit([template])
        wait_for(lambda: events.problems and events.problems[-1][0] == "build", "the template error", 60)
        assert any("country.html.j2" in line and "line" in line for line in events.problems[-1][1])
        assert html.read_text(encoding="utf-8") == good
        template.unlink()
        engine.submit([template])
        wait_for(lambda: events.problems[-1] == ("", []), "the fix", 60)
    finally:
        engine.close()


@pytest.mark.slow
def test_a_render_job_leaves_nothing_in_the_temporary_folder(prepared, tmp_path, monkeypatch):
    """WeasyPrint's workers each make a font folder and exit without removing it: the render job gives them a
    temporary folder of its own (in the build state) and removes it."""
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    results = build.stage_render(prepared, 0, jobs=2)
    assert results and all(r.status == "built" for r in results)
    assert list(system_tmp.iterdir()) == []
    assert not (state.state_dir(prepared.output) / state.TMP / "render-0").exists()
    assert os.environ["TMPDIR"] == str(system_tmp) and tempfile.gettempdir() == str(system_tmp)


def test_a_narrative_save_reads_only_the_narratives_and_gives_what_validation_gives(prepared):
    from reportgen.validate import validate_dataset

    s = prepared
    engine = Engine(s, Events().listener(), pdfs=False)
    engine.start()
    try:
        wait_for(lambda: engine.passes >= 1 and not engine.busy(), "the first pass")
        figures = engine.result[1]
        narrative = s.data / "narrative" / "en" / "countries" / "NGA.md"
        narrative.write_text("See ![a map](assets/missing.png).\n", encoding="utf-8")
        engine.submit([narrative])
        wait_for(lambda: engine.passes >= 2 and not engine.busy(), "the second pass", 60)
        result = validate_dataset(s.data)
        assert engine.result[1] is figures  # the figures were kept
        assert engine.result[0].problems == result.problems
        assert engine.result[0].dataset.narratives == result.dataset.narratives
        assert engine.result[0].dataset.source_files == result.dataset.source_files
    finally:
        engine.close()
