"""``reportgen serve``: live preview of the publications while editing data, templates or styles.

What it does:

1. Serves the output folder over HTTP on ``host`` (127.0.0.1 by default: only this machine), ``port`` 0 picking a
   free port; the URL is printed on stdout. Only files inside the output folder are served (no ``..``, no symbolic
   link leading out, no hidden file such as the ``.reportgen/`` build state).
2. Builds with the *same* workflow as ``snakemake --cores all`` (a ``snakemake`` subprocess in the project's folder,
   with the dataset and output folders and the settings given on the command line), so a preview is exactly what
   a build publishes, and a rebuild only re-renders what changed.
3. Watches the dataset folder, ``templates/`` (and the override folder), ``config/`` and the package's code
   (debounced: a burst of saves makes one rebuild) and rebuilds on every change.
4. Reloads the open pages: every HTML page it serves (not the file on disk) gets a small script that listens to the
   Server-Sent Events stream ``/__reportgen/events`` and reloads the page on a ``reload`` event (sent when a build
   ends). When the last build failed, pages also get a banner listing the problems (the validation report's, or the
   build's error messages): the server keeps serving the last good publications and rebuilds on the next save.
5. ``/__reportgen/status`` answers JSON: ``{"state": "building"|"ok"|"failed", "build": n, "problems": [...]}``
   where ``build`` counts finished builds.
6. Ctrl-C (SIGINT) or SIGTERM stops everything cleanly: the running build is interrupted (Snakemake removes its
   incomplete files; the next build resumes), threads are joined, the socket closed, exit status 0.
"""

from __future__ import annotations

import collections
import html
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
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import state
from .errors import Problem, ReportgenError
from .settings import PROJECT_ROOT, Settings, config_entries, config_keys, defaults

EVENTS_PATH = "/__reportgen/events"
STATUS_PATH = "/__reportgen/status"
#: Milliseconds of quiet after a change before rebuilding (a burst of saves makes one build), and the longest a
#: burst is grouped for.
QUIET_MS = 250
DEBOUNCE_MS = 2000
#: Seconds a running build is given to stop on SIGINT before it is killed.
STOP_GRACE = 5.0
#: Lines of the build's output kept to explain a failure.
KEPT_LINES = 400
#: Problems listed in a page's banner (the rest are counted).
BANNER_PROBLEMS = 50

_IGNORED_SUFFIXES = (".pyc", ".pyo", ".mo", ".swp", ".swx", ".swo", ".tmp", ".part", "~", ".bak", ".orig")


# ----------------------------------------------------------------------------------------------------------------
# Build state shared by the threads
# ----------------------------------------------------------------------------------------------------------------

class BuildState:
    """The last build's outcome, with a condition that wakes the event streams on every change."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.state = "building"
        self.build = 0  # finished builds
        self.problems: list[str] = []
        self.failure = ""  # what failed: "validation" or "build"
        self.version = 0  # bumped on every change, for the event streams

    def snapshot(self) -> dict[str, Any]:
        with self.cond:
            return {"state": self.state, "build": self.build, "problems": list(self.problems),
                    "failure": self.failure}

    def set(self, **changes: Any) -> None:
        with self.cond:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self.cond.notify_all()


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
                 log=sys.stderr) -> None:
        super().__init__(name="reportgen-builder", daemon=True)
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
            self.build_once()

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
            import psutil

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
    """Calls ``on_change`` after each debounced burst of changes in the watched folders."""

    def __init__(self, folders: list[Path], output: Path, on_change, stop: threading.Event, *,
                 log=sys.stderr) -> None:
        super().__init__(name="reportgen-watcher", daemon=True)
        self.folders = folders
        self.filter = make_filter(folders, output)
        self.on_change = on_change
        self.stop = stop
        self.log = log

    def run(self) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(*self.folders, watch_filter=self.filter, debounce=DEBOUNCE_MS,
                                            step=QUIET_MS, stop_event=self.stop, rust_timeout=1000,
                                            yield_on_timeout=False, raise_interrupt=False):
                if self.stop.is_set():
                    break
                names = sorted({Path(p).name for _, p in changes})
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                print(f"reportgen serve: changed: {shown}", file=self.log, flush=True)
                self.on_change()
        except Exception as exc:  # noqa: BLE001 - a dead watcher must say so, the server goes on
            print(f"reportgen serve: warning: watching stopped ({exc}); restart serve to watch again",
                  file=self.log, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------------------------

_RELOAD_SCRIPT = """<script data-reportgen-live>
(function () {
  var built = %d;
  if (!window.EventSource) return;
  var source = new EventSource("%s");
  source.addEventListener("hello", function (e) { if (+e.data !== built) location.reload(); });
  source.addEventListener("reload", function () { location.reload(); });
  source.addEventListener("building", function () {
    if (document.getElementById("reportgen-building")) return;
    var d = document.createElement("div");
    d.id = "reportgen-building"; d.setAttribute("role", "status"); d.textContent = "Rebuilding\\u2026";
    d.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483647;background:#1d3f73;color:#fff;" +
      "padding:.4rem .8rem;border-radius:.3rem;font:14px/1.4 sans-serif";
    document.body.appendChild(d);
  });
})();
</script>
"""

_BANNER_STYLE = ("position:relative;z-index:2147483647;margin:0;padding:1rem 1.25rem;background:#fbeee6;"
                 "color:#1a1a1a;border-bottom:3px solid #a33a00;font:15px/1.45 sans-serif")


def banner_html(status: dict[str, Any]) -> str:
    """The failure banner injected at the top of every page (empty when the last build succeeded)."""
    if status["state"] != "failed":
        return ""
    problems = status["problems"]
    if status.get("failure") == "validation":
        head = ("The dataset has errors: nothing was rebuilt and the pages are those of the last good build. "
                "Fix the problems below and save; the page reloads after the next build.")
        more = ' See also <a href="/validation.html">the validation report</a>.'
    else:
        head = ("The last build failed: the pages are those of the last good build. "
                "Fix the problems below and save; the page reloads after the next build.")
        more = ""
    items = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in problems[:BANNER_PROBLEMS])
    if len(problems) > BANNER_PROBLEMS:
        items += f"<li>… and {len(problems) - BANNER_PROBLEMS} more</li>"
    return (f'<div id="reportgen-problems" role="alert" lang="en" style="{_BANNER_STYLE}">'
            f"<p style=\"margin:0 0 .5rem\"><strong>reportgen serve, build {status['build']}:</strong> "
            f"{html.escape(head)}{more}</p><ul style=\"margin:0;padding-left:1.5rem\">{items}</ul></div>\n")


_BODY_OPEN = re.compile(rb"<body\b[^>]*>", re.I)
_BODY_CLOSE = re.compile(rb"</body\s*>", re.I)


def inject(page: bytes, status: dict[str, Any]) -> bytes:
    """``page`` with the failure banner (if any) after ``<body>`` and the reload script before ``</body>``."""
    script = (_RELOAD_SCRIPT % (int(status["build"]), EVENTS_PATH)).encode("utf-8")
    banner = banner_html(status).encode("utf-8")
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


def placeholder_page(status: dict[str, Any], path: str) -> bytes:
    """The page shown for an HTML page that does not exist (yet): building, failed, or not found."""
    if status["state"] == "building":
        text = "The publications are being built; this page reloads when the build ends."
    elif status["state"] == "failed":
        text = "The build failed (see above); this page reloads after the next build."
    else:
        text = f"There is no page at {path} in the output folder."
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>reportgen serve</title></head>\n'
            f'<body>\n<main><h1>reportgen serve</h1><p>{html.escape(text)}</p>'
            f'<p><a href="/">All publications</a></p></main>\n</body>\n</html>\n').encode("utf-8")


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server. Handler threads are joined on close: event streams end when ``stop`` is set, and
    :meth:`close_clients` unblocks connections that idle (a browser's pre-opened sockets) so closing is prompt."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path, state: BuildState, stop: threading.Event):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
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
        status = self.server.state.snapshot()
        if not target.is_file():
            if is_html:
                page = inject(placeholder_page(status, path), status)
                return self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", page, head)
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", head)
        try:
            data = target.read_bytes()
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", head)
        if is_html:
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", inject(data, status), head)
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
        """Server-Sent Events: ``hello`` (build number) at once, ``building`` and ``reload`` as builds go."""
        state, stop = self.server.state, self.server.stop
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        try:
            with state.cond:
                seen, build = state.version, state.build
            self.wfile.write(f"retry: 1000\nevent: hello\ndata: {build}\n\n".encode())
            self.wfile.flush()
            while not stop.is_set():
                with state.cond:
                    state.cond.wait_for(lambda: state.version != seen or stop.is_set(), timeout=15)
                    changed = state.version != seen
                    seen, current, build = state.version, state.state, state.build
                if stop.is_set():
                    break
                if changed:
                    event = "building" if current == "building" else "reload"
                    self.wfile.write(f"event: {event}\ndata: {build}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True


# ----------------------------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------------------------

def make_server(root: Path, host: str, port: int, state: BuildState, stop: threading.Event) -> PreviewServer:
    try:
        return PreviewServer((host, port), root, state, stop)
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
    server = make_server(output, host, port, state, stop)
    builder = Builder(settings, state, stop)
    watcher = Watcher(watched_folders(settings), output, builder.request, stop)
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
            import webbrowser

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
        if server_thread.ident is not None:
            server.shutdown()
        server.server_close()
        for t in (server_thread, builder, watcher):
            if t.ident is not None:
                t.join(timeout=STOP_GRACE + 2)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("reportgen serve: stopped", file=sys.stderr, flush=True)
    return 0


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
