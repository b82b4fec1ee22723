"""``reportgen serve``: live preview of the publications while editing data, templates or styles.

What it does:

1. Serves the output folder over HTTP on ``host`` (127.0.0.1 by default: only this machine), ``port`` 0 picking a
   free port; the URL is printed on stdout. Only files inside the output folder are served (no ``..``, no symbolic
   link leading out, no hidden file such as the ``.reportgen/`` build state).
2. Builds once with the *same* workflow as ``snakemake --cores all`` (a ``snakemake`` subprocess in the project's
   folder, with the dataset and output folders and the settings given on the command line), then hands over to
   the warm preview engine (:mod:`reportgen.preview`), which keeps the dataset, figures, templates and a WeasyPrint
   process loaded and, on each save, re-renders the HTML of what changed (the pages open in a browser first) in a
   fraction of a second, then the PDFs. It writes through the build's own functions and build state, so a build
   after the session finds the publications up to date.
3. Watches the dataset folder, ``templates/`` (and the override folder), ``config/`` and the package's code
   (a burst of saves within ``QUIET_MS`` is one change). A change to reportgen's code or config cannot be taken
   into the running engine: from then on each change runs the workflow, and the console says to restart.
4. Reloads the open pages: every HTML page it serves (not the file on disk) gets a small script that listens to the
   Server-Sent Events stream ``/__reportgen/events?page=PATH`` (which also tells the engine which pages are open)
   and reloads the page, keeping its scroll position, when that page changed. When the last save broke
   validation or rendering, pages also get a banner listing the problems (file, row, column, what to do) over the
   last good publication; it goes when the files are fixed. Banner, script and placeholder pages are templates
   (``partials/preview.html.j2``, ``preview.html.j2``) rendered through the one Jinja environment.
5. ``/__reportgen/status`` answers JSON: ``{"state": "building"|"ok"|"failed", "build": n, "failure": …,
   "problems": [...], "mode": "workflow"|"engine", "pages": {path: n}, "pdfs": {path: n}, "pending_pdfs": n,
   "busy": bool}``
   where ``build`` counts finished workflow builds and ``pages``/``pdfs`` count the updates of each page and PDF.
6. Ctrl-C (SIGINT) or SIGTERM stops everything cleanly: the running build is interrupted (Snakemake removes its
   incomplete files; the next build resumes), the engine and its WeasyPrint process stopped, threads joined, the
   socket closed, the temporary folder removed, exit status 0.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import webbrowser
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import state
from .errors import Problem, ReportgenError
from .settings import PROJECT_ROOT, Settings, config_entries, config_keys, defaults, template_dirs

EVENTS_PATH = "/__reportgen/events"
STATUS_PATH = "/__reportgen/status"
#: Milliseconds of quiet after a change before handling it (an editor's save is a burst of events within a few
#: milliseconds: one change), and the longest a burst is grouped for.
QUIET_MS = 50
DEBOUNCE_MS = 1000
#: Seconds a running build is given to stop on SIGINT before it is killed.
STOP_GRACE = 5.0
#: Lines of the build's output kept to explain a failure.
KEPT_LINES = 400
#: Problems listed in a page's banner (the rest are counted).
BANNER_PROBLEMS = 50
#: The overlays' templates (macros ``banner`` and ``live``) and the placeholder page.
OVERLAYS = "partials/preview.html.j2"
PLACEHOLDER = "preview.html.j2"

_IGNORED_SUFFIXES = (".pyc", ".pyo", ".mo", ".swp", ".swx", ".swo", ".tmp", ".part", "~", ".bak", ".orig")


# ----------------------------------------------------------------------------------------------------------------
# Build state shared by the threads
# ----------------------------------------------------------------------------------------------------------------

class BuildState:
    """The preview's state, with a condition that wakes the event streams on every change."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.state = "building"
        self.build = 0  # finished workflow builds
        self.problems: list[str] = []
        self.failure = ""  # what failed: "validation" or "build"
        self.version = 0  # bumped on every change, for the event streams
        self.banner = 0  # bumped whenever the problems shown change
        self.mode = "workflow"  # "engine" once the warm engine took over
        self.pages: dict[str, int] = {}  # URL path -> updates of that page
        self.pdfs: dict[str, int] = {}  # URL path of the page -> updates of its PDF
        self.viewers: collections.Counter[str] = collections.Counter()  # URL path -> open event streams
        self.pending: Any = lambda: 0  # how many PDFs are due (the engine's count, once it runs)
        self.busy: Any = lambda: False  # the engine is handling a change

    def snapshot(self) -> dict[str, Any]:
        with self.cond:
            return {"state": self.state, "build": self.build, "problems": list(self.problems),
                    "failure": self.failure, "mode": self.mode, "pages": dict(self.pages), "pdfs": dict(self.pdfs),
                    "pending_pdfs": self.pending(), "busy": self.state == "building" or self.busy()}

    def set(self, **changes: Any) -> None:
        with self.cond:
            before = self._shown()
            for k, v in changes.items():
                setattr(self, k, v)
            if self._shown() != before:
                self.banner += 1
            self.version += 1
            self.cond.notify_all()

    def _shown(self) -> tuple:
        """The banner pages show (nothing unless the last build or save failed)."""
        return (self.failure, tuple(self.problems)) if self.state == "failed" else ()

    def page_changed(self, path: str, *, pdf: bool = False) -> None:
        with self.cond:
            counts = self.pdfs if pdf else self.pages
            counts[path] = counts.get(path, 0) + 1
            self.version += 1
            self.cond.notify_all()

    def token(self, path: str) -> str:
        """What a page served now shows: it changes when the page (or the banner over it) must reload."""
        with self.cond:
            return f"{self.build}.{self.banner}.{self.pages.get(path, 0)}"

    def viewing(self) -> set[str]:
        """The pages open in a browser (each keeps an event stream open)."""
        with self.cond:
            return {path for path, n in self.viewers.items() if n > 0}


# ----------------------------------------------------------------------------------------------------------------
# Building through the workflow
# ----------------------------------------------------------------------------------------------------------------

def workflow_config(s: Settings) -> list[str]:
    """``--config`` entries for Snakemake: the folders (absolute) and every setting that differs from its default.

    Settings left at their default are not passed, so ``config/config.yaml`` applies to them as it does to
    ``snakemake --cores all``.
    """
    values: dict[str, Any] = {"data": Path(s.data).resolve(), "output": Path(s.output).resolve()}
    if s.templates:
        values["templates"] = Path(s.templates).resolve()
    default = defaults()
    for key in config_keys():
        value = getattr(s, key)
        if key not in values and value not in ("", None, ()) and value != default.get(key):
            values[key] = value
    return config_entries(values)


def workflow_command(s: Settings) -> list[str]:
    """The Snakemake command line a preview build runs (in the project's folder)."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(PROJECT_ROOT / "Snakefile"), "--cores", "all",
            "--rerun-incomplete", "--config", *workflow_config(s)]


def _problem_lines(output: Path) -> list[str]:
    """The validation report's problems (errors first), as ``file:row: column: message`` lines."""
    try:
        items = json.loads((output / "validation.json").read_text(encoding="utf-8"))
        problems = [Problem(**{k: d.get(k) for k in Problem.__dataclass_fields__}) for d in items]
    except (OSError, ValueError, TypeError, AttributeError):
        return []
    problems.sort(key=lambda p: p.severity != "error")
    return [str(p) for p in problems]


_ERRORISH = re.compile(r"(^|\W)(error|exception)(\W|$)", re.I)
_NOISE = ("Exiting because a job execution failed", "(command exited with non-zero exit code)",
          "check log file(s) for error details", "Logfile ")


def _error_lines(lines: list[str]) -> list[str]:
    """What a failed build said: reportgen's own ``ERROR: …`` messages; else the lines that mention an error
    (Snakemake's, a command's usage error), without Snakemake's indented job details; else the end of the output."""
    def unique(items: list[str]) -> list[str]:
        out: list[str] = []
        for item in items:
            if item not in out:
                out.append(item)
        return out

    texts = [line.rstrip() for line in lines if line.strip()]
    own = unique([t.strip() for t in texts if t.strip().startswith("ERROR:")])
    if own:
        return own
    mentions = unique([t for t in texts if not t[0].isspace() and _ERRORISH.search(t)
                       and not any(n in t for n in _NOISE)])
    if mentions:
        return mentions[:20]
    return texts[-30:] or ["the build failed without a message; run `snakemake --cores all` to see why"]


class Builder(threading.Thread):
    """Runs the workflow whenever :meth:`request` was called, one build at a time, until stopped."""

    def __init__(self, settings: Settings, state: BuildState, stop: threading.Event, *,
                 log=sys.stderr, before=None, after=None) -> None:
        super().__init__(name="reportgen-builder", daemon=True)
        self.before = before  # called before each build (the engine must not write meanwhile)
        self.after = after  # called after each build (the engine takes over after the first)
        self.settings = settings
        self.state = state
        self.stop = stop
        self.pending = threading.Event()
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.proc_lock = threading.Lock()

    def request(self) -> None:
        self.pending.set()

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.pending.wait(0.2):
                continue
            self.pending.clear()
            if self.stop.is_set():
                break
            if self.before is not None:
                self.before()
            self.build_once()
            if self.after is not None and not self.stop.is_set():
                self.after()

    def build_once(self) -> None:
        s = self.settings
        output = Path(s.output).resolve()
        self.state.set(state="building")
        started = time.monotonic()
        self._print(f"reportgen serve: building {output} …")
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        lines: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        try:
            with self.proc_lock:
                if self.stop.is_set():
                    return
                self.proc = subprocess.Popen(
                    workflow_command(s), cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                    errors="replace", bufsize=1, start_new_session=True)
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.append(line)
                self._print(line.rstrip("\n"))
            rc = self.proc.wait()
        except OSError as exc:
            rc = -1
            lines.append(f"ERROR: cannot run snakemake: {exc}")
        finally:
            with self.proc_lock:
                self.proc = None
        if self.stop.is_set():
            return
        seconds = time.monotonic() - started
        marker = state.validation_failed_path(output)
        build = self.state.build + 1
        if rc == 0:
            self.state.set(state="ok", build=build, problems=[], failure="")
            self._print(f"reportgen serve: build {build} done in {seconds:.1f} s")
        elif marker.is_file():
            problems = _problem_lines(output) or _error_lines(list(lines))
            self.state.set(state="failed", build=build, problems=problems, failure="validation")
            self._print(f"reportgen serve: build {build}: the dataset has errors; the pages show them")
        else:
            problems = _error_lines(list(lines))
            if any("LockException" in line for line in lines):
                problems = [f"another Snakemake run holds the lock on {output}. If none is running (a build was "
                            "killed), release it with: " + " ".join(
                                ["snakemake", "--unlock", "--config", *workflow_config(s)]) +
                            f" (in {PROJECT_ROOT}), then save a file to rebuild"]
            self.state.set(state="failed", build=build, problems=problems, failure="build")
            self._print(f"reportgen serve: build {build} failed; the pages show why")

    def cancel(self) -> None:
        """Interrupt the running build quickly and cleanly.

        Snakemake gets SIGINT (it then removes the outputs of unfinished jobs and releases its lock, so the next
        build resumes); its jobs get SIGTERM (a render worker finishing a long document would otherwise hold
        everything up). Whatever still runs after a grace period is killed.
        """
        with self.proc_lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            import psutil  # start-up time: only to stop a build's process tree

            jobs = psutil.Process(proc.pid).children(recursive=True)
        except Exception:  # noqa: BLE001 - psutil missing or the process just ended: SIGINT alone will do
            jobs = []
        try:
            os.kill(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        for job in jobs:
            try:
                job.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            for job in jobs:
                try:
                    job.kill()
                except Exception:  # noqa: BLE001
                    pass

    def _print(self, text: str) -> None:
        try:
            print(text, file=self.log, flush=True)
        except (OSError, ValueError):
            pass


# ----------------------------------------------------------------------------------------------------------------
# Watching
# ----------------------------------------------------------------------------------------------------------------

def watched_folders(s: Settings) -> list[Path]:
    """The folders whose changes trigger a rebuild (those that exist)."""
    folders = [Path(s.data).resolve(), PROJECT_ROOT / "templates", PROJECT_ROOT / "config",
               PROJECT_ROOT / "src" / "reportgen"]
    if s.templates:
        folders.append(Path(s.templates).resolve())
    out: list[Path] = []
    for f in folders:
        if f.is_dir() and f not in out:
            out.append(f)
    return out


def make_filter(roots: list[Path], output: Path):
    """A watchfiles filter: files in the watched folders, minus hidden files, editor droppings, bytecode and the
    output folder (a build must not trigger the next one)."""
    roots = [r.resolve() for r in roots]
    output = output.resolve()

    def accept(change: Any, path: str) -> bool:
        p = Path(path)
        if p == output or output in p.parents:
            return False
        if p.name.endswith(_IGNORED_SUFFIXES) or p.name.startswith(".") or p.name.startswith("#"):
            return False
        for root in roots:
            if p == root or root in p.parents:
                rel = p.relative_to(root).parts
                return not any(part.startswith(".") or part == "__pycache__" for part in rel)
        return False

    return accept


class Watcher(threading.Thread):
    """Calls ``on_change(paths)`` after each debounced burst of changes in the watched folders."""

    def __init__(self, folders: list[Path], output: Path, on_change, stop: threading.Event, *,
                 log=sys.stderr) -> None:
        super().__init__(name="reportgen-watcher", daemon=True)
        self.folders = folders
        self.filter = make_filter(folders, output)
        self.on_change = on_change
        self.stop = stop
        self.log = log

    def run(self) -> None:
        import watchfiles  # start-up time: only once serving

        try:
            for changes in watchfiles.watch(*self.folders, watch_filter=self.filter, debounce=DEBOUNCE_MS,
                                            step=QUIET_MS, stop_event=self.stop, rust_timeout=1000,
                                            yield_on_timeout=False, raise_interrupt=False):
                if self.stop.is_set():
                    break
                names = sorted({Path(p).name for _, p in changes})
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                print(f"reportgen serve: changed: {shown}", file=self.log, flush=True)
                self.on_change({Path(p) for _, p in changes})
        except Exception as exc:  # noqa: BLE001 - a dead watcher must say so, the server goes on
            print(f"reportgen serve: warning: watching stopped ({exc}); restart serve to watch again",
                  file=self.log, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def overlay_environment(templates: str = ""):
    """The one Jinja environment (English) that renders the preview's overlays and placeholder page."""
    # Imported here for start-up time: Jinja and the catalogues load with the first page served.
    from .render import make_environment

    return make_environment("en", template_dirs=template_dirs(templates or None))


def banner_html(status: dict[str, Any], env=None) -> str:
    """The problems banner injected at the top of every page (empty when the last build or save was fine)."""
    if status["state"] != "failed":
        return ""
    env = env or overlay_environment()
    module = env.get_template(OVERLAYS).module
    return str(module.banner(status, BANNER_PROBLEMS)) + "\n"


def live_script(token: str, env=None) -> str:
    env = env or overlay_environment()
    return str(env.get_template(OVERLAYS).module.live(token, EVENTS_PATH)) + "\n"


_BODY_OPEN = re.compile(rb"<body\b[^>]*>", re.I)
_BODY_CLOSE = re.compile(rb"</body\s*>", re.I)


def inject(page: bytes, status: dict[str, Any], *, token: str = "", env=None) -> bytes:
    """``page`` with the problems banner (if any) after ``<body>`` and the reload script before ``</body>``."""
    script = live_script(token, env).encode("utf-8")
    banner = banner_html(status, env).encode("utf-8")
    closes = list(_BODY_CLOSE.finditer(page))
    if closes:
        at = closes[-1].start()
        page = page[:at] + script + page[at:]
    else:
        page = page + script
    if banner:
        m = _BODY_OPEN.search(page)
        page = page[:m.end()] + b"\n" + banner + page[m.end():] if m else banner + page
    return page


def placeholder_page(status: dict[str, Any], path: str, env=None) -> bytes:
    """The page shown for an HTML page that does not exist (yet): building, failed, or not found."""
    if status["state"] == "building":
        text = "The publications are being built; this page reloads when the build ends."
    elif status["state"] == "failed":
        text = "The build failed (see above); this page reloads when the files are fixed."
    else:
        text = f"There is no page at {path} in the output folder."
    env = env or overlay_environment()
    return env.get_template(PLACEHOLDER).render(text=text).encode("utf-8")


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server. Handler threads are joined on close: event streams end when ``stop`` is set, and
    :meth:`close_clients` unblocks connections that idle (a browser's pre-opened sockets) so closing is prompt."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path, state: BuildState, stop: threading.Event, *,
                 templates: Path | str | None = None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.env = overlay_environment(str(templates or ""))
        self.root = root.resolve()
        self.state = state
        self.stop = stop
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        super().__init__(address, PreviewHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._clients_lock:
            self._clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._clients_lock:
            self._clients.discard(request)
        super().shutdown_request(request)

    def close_clients(self) -> None:
        """Shut the open client connections down, so that no handler thread waits on a silent client."""
        with self._clients_lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_close(self) -> None:
        self.close_clients()
        super().server_close()

    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/"


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves the output folder, injecting live reload (and the failure banner) into HTML pages."""

    server: PreviewServer
    server_version = "reportgen-serve"
    sys_version = ""
    timeout = 15  # seconds a silent client may hold a connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(args[2].root), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    # -- routing ---------------------------------------------------------------------------------------------

    def _respond(self, *, head: bool) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == EVENTS_PATH:
            return self._events(head)
        if path == STATUS_PATH:
            body = (json.dumps(self.server.state.snapshot(), ensure_ascii=False, indent=1) + "\n").encode()
            return self._send(HTTPStatus.OK, "application/json; charset=utf-8", body, head)
        target = self._resolve(path)
        if target is None:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", head)
        if target.is_dir():
            if not path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            target = target / "index.html"
        is_html = target.suffix.lower() in (".html", ".htm")
        state = self.server.state
        status = state.snapshot()
        env = self.server.env
        if is_html:
            page_path = "/" + target.relative_to(self.server.root).as_posix()
            token = state.token(page_path)
        if not target.is_file():
            if is_html:
                page = inject(placeholder_page(status, path, env), status, token=token, env=env)
                return self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", page, head)
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", head)
        try:
            data = target.read_bytes()
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", head)
        if is_html:
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", inject(data, status, token=token, env=env),
                              head)
        return self._send(HTTPStatus.OK, self.guess_type(str(target)), data, head)

    def _resolve(self, url_path: str) -> Path | None:
        """The file or folder ``url_path`` names inside the output folder; None for anything else."""
        rel = urllib.parse.unquote(url_path)
        if "\x00" in rel or "\\" in rel:
            return None
        parts = [p for p in rel.split("/") if p]
        if any(p.startswith(".") for p in parts):  # .., hidden files, the .reportgen/ state
            return None
        root = self.server.root
        target = root.joinpath(*parts) if parts else root
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError):
            return None
        if resolved != root and root not in resolved.parents:  # a symbolic link leading out
            return None
        return resolved if resolved.exists() or target.suffix.lower() in (".html", ".htm") or not parts else None

    def _send(self, code: int, ctype: str, body: bytes, head: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _events(self, head: bool) -> None:
        """Server-Sent Events for the page named by ``?page=PATH``: ``hello`` (what the page must show) at once,
        ``building`` when the workflow runs, ``reload`` when the page or the banner over it changed. While the
        stream is open, the engine counts the page as open (rendered first)."""
        state, stop = self.server.state, self.server.stop
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        page = query.get("page", [""])[0]
        page = page + "index.html" if page.endswith("/") else page
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        with state.cond:
            state.viewers[page] += 1
        try:
            with state.cond:
                seen, token, current = state.version, state.token(page), state.state
            self.wfile.write(f"retry: 1000\nevent: hello\ndata: {token}\n\n".encode())
            self.wfile.flush()
            while not stop.is_set():
                with state.cond:
                    state.cond.wait_for(lambda: state.version != seen or stop.is_set(), timeout=15)
                    changed = state.version != seen
                    seen, now, was = state.version, state.token(page), current
                    current = state.state
                if stop.is_set():
                    break
                if changed and now != token:
                    token = now
                    self.wfile.write(f"event: reload\ndata: {token}\n\n".encode())
                elif changed and current == "building" and was != "building":
                    self.wfile.write(f"event: building\ndata: {token}\n\n".encode())
                elif not changed:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with state.cond:
                state.viewers[page] -= 1
                if state.viewers[page] <= 0:
                    del state.viewers[page]
        self.close_connection = True


# ----------------------------------------------------------------------------------------------------------------
# Who handles a change: the warm engine, or the workflow
# ----------------------------------------------------------------------------------------------------------------

class Preview:
    """Routes each change to the warm engine (:mod:`reportgen.preview`) once the first workflow build is over, or
    to the workflow (:class:`Builder`) before that and after a change to reportgen's own code or config."""

    def __init__(self, settings: Settings, state: BuildState, stop: threading.Event, *, log=sys.stderr):
        self.settings = settings
        self.state = state
        self.stop = stop
        self.log = log
        self.builder: Builder | None = None
        self.engine = None
        self.started = False  # the first workflow build is over
        self.stale = ""  # why the engine cannot be used any more
        self.lock = threading.Lock()

    def changed(self, paths: set[Path]) -> None:
        with self.lock:
            engine = self.engine
        if engine is not None and not engine.stale:
            engine.submit(paths)
        elif self.started and self.builder is not None:
            self.builder.request()
        # Before the first build ends: the engine reads every file when it starts.

    def pause(self) -> None:
        """Stop the engine (before a workflow build, or at exit): only one of them writes the output folder."""
        with self.lock:
            engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()
            self.state.pending = lambda: 0
            self.state.busy = lambda: False

    def resume(self) -> None:
        """After a workflow build: start the engine, unless reportgen's code changed during this session."""
        self.started = True
        if self.stale or self.stop.is_set():
            return
        from .preview import Engine, Listener  # start-up time: the engine loads pandas and the templates

        listener = Listener(page=self._page, pdf=self._pdf, problems=self._problems, stale=self._stale)
        engine = Engine(self.settings, listener, viewing=self.state.viewing)
        with self.lock:
            self.engine = engine
        self.state.pending = lambda: len(engine.waiting)
        self.state.busy = engine.busy
        self.state.set(mode="engine")
        engine.start()

    def _page(self, stem: str) -> None:
        self.state.page_changed(f"/{stem}.html")

    def _pdf(self, stem: str) -> None:
        self.state.page_changed(f"/{stem}.html", pdf=True)

    def _problems(self, failure: str, lines: list[str]) -> None:
        snapshot = self.state.snapshot()
        if failure:
            if (snapshot["state"], snapshot["failure"], snapshot["problems"]) != ("failed", failure, lines):
                self.state.set(state="failed", failure=failure, problems=lines)
                print(f"reportgen serve: {len(lines)} problem(s): the pages show them", file=self.log, flush=True)
        elif snapshot["state"] != "ok":
            self.state.set(state="ok", failure="", problems=[])
            print("reportgen serve: fixed: the pages are up to date", file=self.log, flush=True)

    def _stale(self, why: str) -> None:
        self.stale = why
        print(f"reportgen serve: {why}: the running preview cannot take it in, so every change now runs the "
              "whole workflow (seconds per save); restart reportgen serve for the fast preview",
              file=self.log, flush=True)
        self.state.set(mode="workflow")
        if self.builder is not None:
            self.builder.request()


# ----------------------------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------------------------

def make_server(root: Path, host: str, port: int, state: BuildState, stop: threading.Event, *,
                templates: Path | str | None = None) -> PreviewServer:
    try:
        return PreviewServer((host, port), root, state, stop, templates=templates)
    except socket.gaierror:
        raise ReportgenError(f"cannot listen on {host!r}: unknown address; use --host 127.0.0.1") from None
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
            raise ReportgenError(f"port {port} on {host} is already in use; choose another with --port, or "
                                 "--port 0 to pick a free one") from None
        raise ReportgenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> int:
    """Build, serve the output folder on ``host:port``, rebuild and reload on changes, until Ctrl-C. Returns 0."""
    data = Path(settings.data).resolve()
    output = Path(settings.output).resolve()
    if not data.is_dir():
        raise ReportgenError(f"the dataset folder {data} does not exist; give it with --data DIR")
    if settings.templates and not Path(settings.templates).is_dir():
        raise ReportgenError(f"the templates override folder {settings.templates} does not exist; create it or "
                             "leave --templates out")
    if shutil.which("snakemake") is None and not _has_module("snakemake"):
        raise ReportgenError("snakemake is not installed; run: pip install -e .")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportgenError(f"cannot create the output folder {output}: {exc.strerror}; choose another one "
                             "with --output") from None

    state = BuildState()
    stop = threading.Event()
    server = make_server(output, host, port, state, stop, templates=settings.templates)
    preview = Preview(settings, state, stop)
    builder = Builder(settings, state, stop, before=preview.pause, after=preview.resume)
    preview.builder = builder
    watcher = Watcher(watched_folders(settings), output, preview.changed, stop)
    server_thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                     name="reportgen-http", daemon=True)

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        server_thread.start()
        url = server.url()
        if not _loopback(host):
            print(f"reportgen serve: warning: listening on {host}: other machines on the network can read the "
                  "publications", file=sys.stderr, flush=True)
        print(f"reportgen serve: {output} at {url} (Ctrl-C to stop)", flush=True)
        builder.request()
        builder.start()
        watcher.start()
        if open_browser:
            webbrowser.open(url)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        with state.cond:
            state.cond.notify_all()
        builder.cancel()
        preview.pause()
        if server_thread.ident is not None:
            server.shutdown()
        server.server_close()
        for t in (server_thread, builder, watcher):
            if t.ident is not None:
                t.join(timeout=STOP_GRACE + 2)
        preview.pause()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("reportgen serve: stopped", file=sys.stderr, flush=True)
    return 0


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None
