"""`reportgen serve`: the preview server (files, live reload, banner, status), the builder, the watcher, and the
whole loop end to end (build → serve → edit → rebuild → reload → invalid data → Ctrl-C)."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from html import unescape
from pathlib import Path

import pytest

from reportgen import serve as serve_mod
from reportgen.serve import (
    EVENTS_PATH,
    STATUS_PATH,
    Builder,
    BuildState,
    PreviewServer,
    Watcher,
    inject,
    make_filter,
    workflow_command,
    workflow_config,
)
from reportgen.settings import PROJECT_ROOT, Settings

PAGE = ('<!DOCTYPE html>\n<html lang="en"><head><title>NGA</title></head>\n<body class="brief">\n<h1>Nigeria</h1>\n'
        "</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------------------------
# The HTTP server on a fake output folder
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture
def preview(tmp_path):
    root = tmp_path / "output"
    (root / "en" / "countries").mkdir(parents=True)
    (root / "index.html").write_text(PAGE.replace("Nigeria", "All publications"), encoding="utf-8")
    (root / "en" / "countries" / "NGA.html").write_text(PAGE, encoding="utf-8")
    (root / "en" / "countries" / "NGA.pdf").write_bytes(b"%PDF-1.7 fake")
    (root / ".reportgen").mkdir()
    (root / ".reportgen" / "plan.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "escape.html").symlink_to(tmp_path / "secret.txt")
    state = BuildState()
    stop = threading.Event()
    server = PreviewServer(("127.0.0.1", 0), root, state, stop)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, state, stop, root
    stop.set()
    with state.cond:
        state.cond.notify_all()
    server.shutdown()
    server.server_close()
    thread.join(5)


def get(server: PreviewServer, path: str) -> tuple[int, dict, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", path)  # sent as is: no client-side normalisation of ".."
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_html_pages_get_the_reload_script_but_the_files_on_disk_do_not(preview):
    server, state, _, root = preview
    state.set(state="ok", build=3)
    status, headers, body = get(server, "/en/countries/NGA.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    text = body.decode()
    assert "<h1>Nigeria</h1>" in text
    script_at = text.index("<script data-reportgen-live>")
    assert script_at < text.index("</body>")
    assert f'new EventSource("{EVENTS_PATH}" + "?page="' in text
    assert f'var token = "{state.token("/en/countries/NGA.html")}";' in text
    assert "reportgen-problems" not in text  # no banner when the build is fine
    assert "data-reportgen-live" not in (root / "en" / "countries" / "NGA.html").read_text()
    # the folder's index, and other files untouched
    status, _, body = get(server, "/")
    assert status == 200 and b"All publications" in body and b"data-reportgen-live" in body
    status, headers, body = get(server, "/en/countries/NGA.pdf")
    assert status == 200 and body == b"%PDF-1.7 fake" and headers["Content-Type"] == "application/pdf"
    status, headers, _ = get(server, "/en/countries")
    assert status == 301 and headers["Location"] == "/en/countries/"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/en/../../secret.txt", "/%2e%2e/secret.txt", "/en/%2E%2E/%2e%2e/secret.txt",
    "/escape.html", "/.reportgen/plan.json", "/%2ereportgen/plan.json", "/en%5c..%5c..%5csecret.txt",
    "/en/countries/NGA.pdf%00.html",
])
def test_nothing_outside_the_output_folder_nor_its_hidden_state_is_served(preview, path):
    server, *_ = preview
    status, _, body = get(server, path)
    assert status == 404
    assert b"outside" not in body and b"{}" != body


def test_missing_pages_say_what_is_going_on_and_reload(preview):
    server, state, *_ = preview
    status, _, body = get(server, "/en/countries/FRA.html")
    assert status == 404
    assert b"being built" in body and b"data-reportgen-live" in body
    status, _, body = get(server, "/nothing.css")
    assert status == 404 and b"data-reportgen-live" not in body


def test_a_failed_build_shows_its_problems_in_every_page(preview):
    server, state, *_ = preview
    state.set(state="failed", build=2, failure="validation",
              problems=["actions.csv:2: committed: must be a number ≥ 0, got '<abc>'"])
    _, _, body = get(server, "/en/countries/NGA.html")
    text = body.decode()
    banner_at = text.index('id="reportgen-problems"')
    assert text.index('<body class="brief">') < banner_at < text.index("<h1>Nigeria</h1>")
    assert 'role="alert"' in text
    assert "actions.csv:2: committed: must be a number ≥ 0, got &#39;&lt;abc&gt;&#39;" in text
    assert '<a href="/validation.html">' in text
    assert "<abc>" not in text  # escaped by the one environment (the banner is a template)
    status, _, body = get(server, STATUS_PATH)
    assert status == 200
    st = json.loads(body)
    assert {k: st[k] for k in ("state", "build", "failure", "problems")} == {
        "state": "failed", "build": 2, "failure": "validation",
        "problems": ["actions.csv:2: committed: must be a number ≥ 0, got '<abc>'"]}
    assert st["mode"] == "workflow" and st["pending_pdfs"] == 0 and st["busy"] is False
    # fixed: the banner goes
    state.set(state="ok", failure="", problems=[])
    assert "reportgen-problems" not in get(server, "/en/countries/NGA.html")[2].decode()


def test_the_event_stream_of_a_page_says_hello_then_reloads_when_that_page_changes(preview):
    server, state, stop, _ = preview
    state.set(state="ok", build=1)
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", EVENTS_PATH + "?page=/en/countries/NGA.html")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")

    def next_event() -> tuple[str, str]:
        event = data = ""
        while True:
            line = resp.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and event:
                return event, data

    assert next_event() == ("hello", state.token("/en/countries/NGA.html"))
    deadline = time.monotonic() + 5
    while state.viewing() != {"/en/countries/NGA.html"} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state.viewing() == {"/en/countries/NGA.html"}  # the engine renders it first
    state.page_changed("/en/countries/BEN.html")  # another page: no event for this one
    state.page_changed("/en/countries/NGA.html")
    assert next_event() == ("reload", state.token("/en/countries/NGA.html"))
    state.set(state="building")
    assert next_event()[0] == "building"
    state.set(state="ok", build=2)
    assert next_event() == ("reload", state.token("/en/countries/NGA.html"))
    state.set(state="failed", failure="validation", problems=["actions.csv:2: committed: …"])
    assert next_event()[0] == "reload"  # the banner appears
    resp.close()
    conn.close()  # the tab closes: its page is no longer counted as open once the stream finds it gone
    deadline = time.monotonic() + 5
    while state.viewing() and time.monotonic() < deadline:
        state.page_changed("/en/countries/NGA.html")
        time.sleep(0.1)
    assert state.viewing() == set()


def test_closing_does_not_wait_for_silent_clients(tmp_path):
    """A browser opens sockets it sends nothing on (pre-connect); closing the server must not wait for them."""
    import socket

    state, stop = BuildState(), threading.Event()
    server = PreviewServer(("127.0.0.1", 0), tmp_path, state, stop)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    silent = socket.create_connection(server.server_address[:2])
    time.sleep(0.3)  # the server accepted it and a handler thread waits for a request line
    started = time.monotonic()
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
    assert time.monotonic() - started < 3
    silent.close()


def test_injection_without_body_tags():
    page = inject(b"<p>bare</p>", {"state": "failed", "build": 1, "problems": ["x"], "failure": "build"})
    assert page.startswith(b'<div id="reportgen-problems"') and page.rstrip().endswith(b"</script>")


# ----------------------------------------------------------------------------------------------------------------
# Builder, watcher, workflow command
# ----------------------------------------------------------------------------------------------------------------

def test_workflow_command_passes_absolute_folders_and_non_default_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_mapping({"data": "data", "output": "out", "languages": ["en"], "shards": 2,
                               "render_timeout": 60.0})
    config = workflow_config(s)
    assert config == [f"data={tmp_path / 'data'}", f"output={tmp_path / 'out'}", "languages=[en]", "shards=2",
                      "render_timeout=60"]
    cmd = workflow_command(s)
    assert cmd[:3] == [sys.executable, "-m", "snakemake"]
    assert cmd[cmd.index("--snakefile") + 1] == str(PROJECT_ROOT / "Snakefile")
    assert cmd[cmd.index("--cores") + 1] == "all"
    assert cmd[-len(config):] == config
    default = workflow_config(Settings.from_mapping({"data": "/d", "output": "/o"}))
    assert default == ["data=/d", "output=/o"]  # config/config.yaml decides the rest, as for snakemake


def fake_workflow(monkeypatch, script: str) -> None:
    monkeypatch.setattr(serve_mod, "workflow_command", lambda s: [sys.executable, "-c", script])


def run_builder(settings: Settings) -> BuildState:
    state, stop = BuildState(), threading.Event()
    builder = Builder(settings, state, stop, log=open(os.devnull, "w"))
    builder.build_once()
    return state


def test_builder_reports_success_build_errors_and_validation_problems(tmp_path, monkeypatch):
    out = tmp_path / "out"
    s = Settings.from_mapping({"data": str(tmp_path), "output": str(out)})
    fake_workflow(monkeypatch, "print('Building DAG of jobs...')")
    state = run_builder(s)
    assert (state.state, state.build, state.problems) == ("ok", 1, [])

    fake_workflow(monkeypatch, "import sys; print('Error in rule render:'); print('    jobid: 3'); "
                               "print('ERROR: en/countries/NGA: template broke', file=sys.stderr); sys.exit(1)")
    state = run_builder(s)
    assert (state.state, state.failure, state.problems) == ("failed", "build",
                                                            ["ERROR: en/countries/NGA: template broke"])

    (out / ".reportgen").mkdir(parents=True)
    (out / ".reportgen" / "validation-failed").write_text("1\n")
    (out / "validation.json").write_text(json.dumps([
        {"file": "actions.csv", "row": 5, "column": "committed", "value": None, "rule": "missing",
         "severity": "warning", "message": "not reported"},
        {"file": "actions.csv", "row": 2, "column": "committed", "value": "abc", "rule": "number",
         "severity": "error", "message": "must be a number ≥ 0, got 'abc'"},
    ]))
    fake_workflow(monkeypatch, "import sys; sys.exit(1)")
    state = run_builder(s)
    assert state.failure == "validation"
    assert state.problems == ["error: actions.csv:2: committed: must be a number ≥ 0, got 'abc'",
                              "warning: actions.csv:5: committed: not reported"]


def test_watch_filter_ignores_hidden_files_bytecode_editor_droppings_and_the_output(tmp_path):
    data, out = tmp_path / "data", tmp_path / "data" / "out"
    src = tmp_path / "src"
    accept = make_filter([data, src], out)
    assert accept(None, str(data / "actions.csv"))
    assert accept(None, str(data / "narrative" / "fr" / "synthesis.md"))
    assert accept(None, str(src / "serve.py"))
    for ignored in (data / ".~lock.actions.csv#", data / "actions.csv~", data / ".actions.csv.swp",
                    data / ".git" / "index", src / "__pycache__" / "serve.cpython-311.pyc", out / "index.html",
                    src / "locale" / "fr" / "LC_MESSAGES" / "messages.mo", tmp_path / "elsewhere.txt"):
        assert not accept(None, str(ignored)), ignored


def test_watcher_calls_back_once_per_burst_of_changes(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    calls: list[set] = []
    stop = threading.Event()
    watcher = Watcher([folder], tmp_path / "out", lambda paths: calls.append(paths), stop,
                      log=open(os.devnull, "w"))
    watcher.start()
    try:
        time.sleep(0.5)
        (folder / ".hidden").write_text("x")
        time.sleep(1.0)
        assert calls == []
        # An editor's save: a temporary file written, then renamed over the file (events within microseconds).
        (folder / ".actions.csv.tmp").write_text("v1")
        os.replace(folder / ".actions.csv.tmp", folder / "actions.csv")
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        assert len(calls) == 1 and calls[0] == {folder / "actions.csv"}
    finally:
        stop.set()
        watcher.join(5)
    assert not watcher.is_alive()


# ----------------------------------------------------------------------------------------------------------------
# End to end: the real workflow
# ----------------------------------------------------------------------------------------------------------------

class Server:
    """A `reportgen serve` subprocess and helpers to talk to it."""

    def __init__(self, data: Path, output: Path, log: Path):
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reportgen.cli", "serve", "--data", str(data), "--output", str(output),
             "--port", "0", "--languages", "en"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=data.parent,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.url = self._read_url(timeout=30)

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if " at http://" in line:
                    return line.split(" at ", 1)[1].split()[0]
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"serve printed no URL; its log:\n{Path(self.log.name).read_text()}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def status(self) -> dict:
        return json.loads(self.get(STATUS_PATH)[1])

    def wait(self, predicate, what: str, deadline: float) -> dict:
        while time.monotonic() < deadline:
            st = self.status()
            if st["state"] != "building" and predicate(st):
                return st
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; status {self.status()}; log:\n"
                             f"{Path(self.log.name).read_text()[-4000:]}")


@pytest.mark.slow
def test_serve_end_to_end(tmp_path, tiny_dataset_files, write_dataset):
    started = time.monotonic()
    deadline = started + 110
    data = write_dataset(tmp_path / "data", tiny_dataset_files)
    out = tmp_path / "output"
    srv = Server(data, out, tmp_path / "serve.log")
    try:
        assert srv.url.startswith("http://127.0.0.1:")
        st = srv.wait(lambda s: s["build"] >= 1, "the first build", deadline)
        assert st["state"] == "ok", st

        status, entry = srv.get("/")  # the site's entry page links each language's index (issue 15)
        assert status == 200 and "data-reportgen-live" in entry and "en/index.html" in entry  # serve --languages en
        status, index = srv.get("/en/index.html")
        assert status == 200 and "data-reportgen-live" in index and "countries/NGA.html" in index
        status, page = srv.get("/en/countries/NGA.html")
        assert status == 200 and "Appui à l’agence nationale NAPTIP" in unescape(page)  # a French part, French ’
        assert "data-reportgen-live" in page
        assert "data-reportgen-live" not in (out / "en" / "countries" / "NGA.html").read_text()
        status, _ = srv.get("/en/countries/NGA.pdf")
        assert status == 200

        events: list[str] = []

        def listen() -> None:  # a browser tab's event stream
            try:
                # The tab says which page it shows: the server reloads the pages that are open.
                with urllib.request.urlopen(srv.url + EVENTS_PATH.lstrip("/") + "?page=/en/countries/NGA.html",
                                            timeout=60) as r:
                    for raw in r:
                        line = raw.decode().strip()
                        if line.startswith("event: "):
                            events.append(line[7:])
            except OSError:
                pass

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()

        # The warm engine takes over after the first build.
        st = srv.wait(lambda s: s["mode"] == "engine" and not s["busy"] and s["pages"], "the engine", deadline)

        # Edit a data file: NGA's English narrative. The page shows it within about a second (the engine), its
        # PDF follows.
        narrative = data / "narrative" / "en" / "countries" / "NGA.md"
        seen = st["pages"].get("/en/countries/NGA.html", 0)
        saved = time.monotonic()
        narrative.write_text("Nigeria is a major country of origin, transit and destination.\n", encoding="utf-8")
        st = srv.wait(lambda s: s["pages"].get("/en/countries/NGA.html", 0) > seen, "the page", deadline)
        shown = time.monotonic() - saved
        page = unescape(srv.get("/en/countries/NGA.html")[1])
        assert st["state"] == "ok", st
        assert "Nigeria is a major country of origin, transit and destination." in page, page[:2000]
        assert shown < 30, shown  # about a second on an idle machine; shared CI machines are slower
        assert "reload" in events and "hello" in events
        pdfs = st["pdfs"].get("/en/countries/NGA.html", 0)
        srv.wait(lambda s: s["pdfs"].get("/en/countries/NGA.html", 0) > pdfs or s["pending_pdfs"] == 0, "the PDF",
                 deadline)

        # Edit it into an invalid state: the problem shows in the page, the server goes on.
        actions = data / "actions.csv"
        actions.write_text(actions.read_text(encoding="utf-8").replace("2008,150 000,", "2008,abc,"),
                           encoding="utf-8")
        st = srv.wait(lambda s: s["state"] == "failed", "the failed build", deadline)
        assert st["failure"] == "validation"
        assert any(p.startswith("error: actions.csv:2: committed") and "abc" in p for p in st["problems"]), st
        status, page = srv.get("/en/countries/NGA.html")
        assert status == 200
        assert 'id="reportgen-problems"' in page and "actions.csv:2: committed" in page
        assert "transit and destination" in unescape(page)  # the last good build is still served
    finally:
        srv.proc.send_signal(signal.SIGINT)
        try:
            code = srv.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            raise AssertionError("serve did not stop within 10 s of SIGINT")
        srv.log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert "reportgen serve: stopped" in (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    assert time.monotonic() - started < 120
