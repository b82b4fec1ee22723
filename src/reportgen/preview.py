"""The warm preview engine behind ``reportgen serve``: a saved change on screen in well under a second.

The engine keeps loaded what a build loads in every job: the validated dataset and its figures, the compiled
templates (:class:`reportgen.worker.Worker`), and a WeasyPrint process (:class:`PdfProcess`, imports paid once,
fonts registered once, stylesheets parsed once). On a change it

1. re-reads what changed: a narrative Markdown file alone is read again by itself (figures kept); any other data
   file re-validates the dataset (every problem, as the build does) and recomputes the figures; a template drops
   the compiled templates; a stylesheet, font or image is copied to ``{output}/assets/`` as the build does;
2. renders the HTML of every publication (context → HTML → key: the build's own functions), the pages open in a
   browser first of all, and tells the server at once which pages changed (the browser reloads them);
3. renders the PDFs of the publications whose key changed, those open first, in the WeasyPrint process, and
   records each one in the build state exactly as the render job does (:meth:`Worker.record`), so that a build
   after the preview session finds them up to date.

Last save wins: a change that arrives during a pass interrupts it (the pass starts again with every change
merged), and a PDF being rendered for a page that changed again is abandoned (its process is replaced).

A save that breaks validation keeps the last good publications on disk and reports its problems (the server
shows them over every page); the next good save clears them. A change to reportgen's own code cannot be taken
into a running process: the engine says so (:attr:`Engine.stale`) and the server falls back to the workflow.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import jinja2

from . import atomic, state
from .aggregate import compute_figures
from .assets import copy_assets
from .build import record_validation
from .console import say
from .errors import Problem, ReportgenError, has_errors, sort_key
from .model import Doc
from .plan import plan_documents
from .settings import PROJECT_ROOT, Settings, source_date_epoch, template_dirs
from .validate import read_narratives, validate_dataset
from .worker import Worker

#: Seconds between two looks at the queue while idle or while a PDF renders.
TICK = 0.02


# ----------------------------------------------------------------------------------------------------------------
# What a change touches
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ChangeSet:
    """Changed paths sorted by what they require."""

    narratives: set[Path] = dataclasses.field(default_factory=set)
    data: set[Path] = dataclasses.field(default_factory=set)  # any other file of the dataset folder
    templates: set[Path] = dataclasses.field(default_factory=set)  # Jinja templates and translation catalogues
    assets: set[Path] = dataclasses.field(default_factory=set)  # stylesheets, fonts, the dataset's images
    code: set[Path] = dataclasses.field(default_factory=set)  # reportgen's code or the workflow's config

    def __bool__(self) -> bool:
        return bool(self.narratives or self.data or self.templates or self.assets or self.code)


def classify(paths: Iterable[Path], s: Settings) -> ChangeSet:
    """What each changed path asks of the engine (paths outside the watched folders are ignored)."""
    data = Path(s.data).resolve()
    tdirs = [d.resolve() for d in template_dirs(s.templates)]
    src = (PROJECT_ROOT / "src" / "reportgen").resolve()
    out = ChangeSet()
    for raw in paths:
        p = Path(raw).resolve()
        if p == data or data in p.parents:
            rel = p.relative_to(data).parts
            if rel and rel[0] == "narrative":
                out.narratives.add(p)
            else:
                out.data.add(p)
                if rel and rel[0] == "assets":
                    out.assets.add(p)
        elif any(p == d or d in p.parents for d in tdirs):
            if p.suffix in (".j2", ".html", ".jinja"):
                out.templates.add(p)
            else:
                out.assets.add(p)
        elif src in p.parents:
            (out.templates if p.suffix == ".po" else out.code).add(p)
        elif p.is_relative_to(PROJECT_ROOT / "config"):
            out.code.add(p)
    return out


# ----------------------------------------------------------------------------------------------------------------
# The WeasyPrint process
# ----------------------------------------------------------------------------------------------------------------

def _pdf_main(conn, s: Settings, tmp: str, nice: int) -> None:  # pragma: no cover - in the spawned process
    """Render the PDFs the engine sends, one at a time, with one warm Worker (fonts and stylesheets kept)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = tmp
    import weasyprint  # noqa: F401 - paid once, before the first document


    worker = Worker(s, {"epoch": 0}, model=(None, None))
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        page, epoch = message
        worker.epoch = epoch
        t0 = time.perf_counter()
        try:
            rendered = worker.render_pdf(page)
            conn.send(("built", page.key, rendered.data, rendered.pages, time.perf_counter() - t0))
        except BaseException as exc:  # noqa: BLE001 - said to the engine, which shows it
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return
            conn.send(("failed", page.key, worker.failed(page.doc.key, 0.0, exc).error))


class PdfProcess:
    """A spawned process (not forked: the server runs threads) that renders PDFs for the engine.

    The engine runs two: one for the pages open in a browser, so that their PDF never waits behind another's,
    and one, niced, for the other publications, which uses what the first and the engine leave of the CPU."""

    def __init__(self, s: Settings, tmp: Path, *, nice: int = 0):
        self.s = s
        self.tmp = tmp
        self.nice = nice
        self.proc = None
        self.conn = None
        self.page = None  # the page being rendered
        self.sent = 0.0
        self.start()

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_pdf_main, args=(child, self.s, str(self.tmp), self.nice), name="reportgen-pdf",
                                daemon=True)
        self.proc.start()
        child.close()
        self.page = None

    @property
    def busy(self) -> bool:
        return self.page is not None

    def submit(self, page, epoch: int) -> None:
        assert self.page is None and self.conn is not None
        self.conn.send((page, epoch))
        self.page = page
        self.sent = time.perf_counter()

    def result(self):
        """The finished render (``("built", key, data, pages, seconds)`` or ``("failed", key, error)``), or None."""
        if self.conn is None:
            return None
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message[0] == "ready":
                    continue
                self.page = None
                return message
        except (EOFError, OSError):
            page = self.page
            self.restart()
            if page is not None:
                return ("failed", page.key, "the PDF process died (out of memory or crash); save again to retry")
        return None

    def pause(self, paused: bool) -> None:
        """Stop (SIGSTOP) or resume (SIGCONT) the process: while the engine brings the open pages up to date, the
        PDFs give it the CPU; nothing is lost, the render goes on where it was."""
        if self.proc is not None and self.proc.pid and self.proc.is_alive():
            try:
                os.kill(self.proc.pid, signal.SIGSTOP if paused else signal.SIGCONT)
            except ProcessLookupError:
                pass

    def restart(self) -> None:
        """Abandon the render in progress: a new process takes over (its imports are paid in the background)."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.page is None and self.conn is not None:
                self.conn.send(None)
                self.proc.join(1)
        except (OSError, ValueError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = self.page = None


# ----------------------------------------------------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------------------------------------------------

class Interrupted(Exception):
    """A newer change arrived: the pass in progress is dropped (it starts again with every change merged)."""


@dataclasses.dataclass
class Listener:
    """What the engine tells the server (all optional)."""

    page: Callable[[str], None] = lambda stem: None  # a publication's HTML (or what it loads) changed
    pdf: Callable[[str], None] = lambda stem: None  # its PDF is up to date
    problems: Callable[[str, list[str]], None] = lambda failure, lines: None  # "" and [] when all is well
    stale: Callable[[str], None] = lambda why: None  # the engine cannot go on (code changed): use the workflow


def doc_url(doc: Doc) -> str:
    """The URL path of a publication's HTML page on the preview server."""
    return f"/{doc.stem}.html"


class Engine(threading.Thread):
    """The preview's worker thread: see the module docstring."""

    def __init__(self, s: Settings, listener: Listener, *, viewing: Callable[[], set[str]] = set,
                 stop: threading.Event | None = None, pdfs: bool = True):
        super().__init__(name="reportgen-preview", daemon=True)
        self.s = s
        self.listener = listener
        self.viewing = viewing
        self.stop_event = stop or threading.Event()
        self.cond = threading.Condition()
        self.queued: set[Path] = set()
        self.full = True  # the next pass re-reads everything (start, or after an error)
        self.stale = False
        self.worker = None
        self.result = None  # the last ValidationResult with a dataset
        self.problems: list[Problem] = []  # validation problems of the last check
        self.docs: list[Doc] = []
        self.shown: dict[str, str] = {}  # doc key -> key of the HTML on disk, as the engine last wrote/saw it
        self.waiting: dict[str, object] = {}  # doc key -> Page whose PDF is due
        self.failed_pdfs: dict[str, str] = {}
        self.render_errors: dict[str, str] = {}
        self.passes = 0
        self.validation_due: list[Problem] | None = None  # problems of a valid dataset, written after the pass
        self.handling = False
        self.tmp = state.tmp_dir(s.output, f"preview-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.pdfs = [PdfProcess(s, self.tmp), PdfProcess(s, self.tmp, nice=10)] if pdfs else []

    # -- the server's side ---------------------------------------------------------------------------------------

    def submit(self, paths: Iterable[Path]) -> None:
        """Changed files (from the watcher); handled as soon as the engine can, interrupting a pass."""
        with self.cond:
            self.queued.update(Path(p) for p in paths)
            self.cond.notify_all()

    def close(self) -> None:
        self.stop_event.set()
        with self.cond:
            self.cond.notify_all()
        if self.is_alive():
            self.join(5)
        for process in self.pdfs:
            process.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the loop ------------------------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop_event.is_set() and not self.stale:
            try:
                worked = self.step()
            except Exception as exc:  # noqa: BLE001 - the preview must go on; the page says what broke
                self.full = True
                self.listener.problems("build", [f"internal error {type(exc).__name__}: {exc} (please report it); "
                                                 "save a file to try again, or restart reportgen serve"])
                worked = False
            if not worked:
                with self.cond:
                    self.cond.wait_for(lambda: self.queued or self.stop_event.is_set(), timeout=TICK)

    def take(self) -> set[Path]:
        with self.cond:
            paths, self.queued = self.queued, set()
        return paths

    def check(self) -> None:
        """Raise :class:`Interrupted` when a newer change waits (called between two publications)."""
        if self.queued or self.stop_event.is_set():
            raise Interrupted

    def step(self) -> bool:
        """Handle queued changes (one whole pass), else collect or start a PDF. Whether anything was done."""
        paths = self.take()
        if paths or self.full:
            changes = classify(paths, self.s)
            if changes.code:
                self.stale = True
                names = ", ".join(sorted(p.name for p in changes.code)[:3])
                self.listener.stale(f"reportgen's code or config changed ({names})")
                return True
            full, self.full = self.full, False
            self.handling = True
            self.pause_pdfs(True)
            try:
                self.apply(changes, full=full)
            except Interrupted:
                with self.cond:  # the changes of the dropped pass are taken again with the new ones
                    self.queued.update(paths)
                self.full = full
            finally:
                self.handling = False
                self.pause_pdfs(False)
            return True
        return self.pump_pdf()

    # -- one pass ------------------------------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, *, full: bool) -> None:
        """Bring the model, the templates and the assets up to date with ``changes``, then render the HTML."""

        t0 = time.perf_counter()
        s = self.s
        reloaded = False
        if full or changes.data or self.result is None:
            reloaded = self.validate()
        elif changes.narratives:
            reloaded = self.reread_narratives()
        if self.result is None or has_errors(self.problems):
            return
        if full or changes.assets:
            copy_assets(template_dirs(s.templates), s.data, s.output)
        if self.worker is None or reloaded:
            self.make_worker()
        if changes.templates:
            self.worker.envs.clear()
        self.html_pass()
        if self.validation_due is not None:
            record_validation(s, self.validation_due)
            self.validation_due = None
        self.passes += 1
        say(f"reportgen serve: pages up to date in {time.perf_counter() - t0:.2f} s"
            + (f"; {len(self.waiting)} PDF(s) to render" if self.waiting else ""))

    def validate(self) -> bool:
        """Validate the whole dataset (the build's validation); True when a new dataset was loaded."""

        result = validate_dataset(self.s.data, max_xlsx_bytes=int(self.s.max_xlsx_mb * 1_000_000))
        self.problems = result.problems
        if has_errors(result.problems):
            self.result = None  # the next change validates everything again
            self.validation_due = None
            record_validation(self.s, result.problems)  # before the banner that links it
            self.listener.problems("validation", _lines(result.problems))
            return False
        self.check()
        figures = compute_figures(result.dataset)
        self.result = (result, figures)
        # The validation page of a valid dataset (its warnings) is written after the open pages' HTML (apply):
        # no banner links it, and the writer is waiting for the page.
        self.validation_due = result.problems
        self.listener.problems("", [])
        return True

    def reread_narratives(self) -> bool:
        """Only narrative files changed: read them again (the same checks as validation), keep the figures."""

        result, figures = self.result
        ds = result.dataset
        texts, digests, narrative_problems = read_narratives(
            Path(self.s.data), ds.evaluation.languages, frozenset(ds.regions["region"]),
            frozenset(ds.countries["country"]))
        others = [p for p in result.problems if not p.file.startswith(("narrative/", "assets/"))]
        problems = sorted(others + narrative_problems, key=sort_key)
        self.problems = problems
        if has_errors(narrative_problems):
            self.validation_due = None
            record_validation(self.s, problems)
            self.listener.problems("validation", _lines(problems))
            self.result = None  # the next change validates everything again
            return False
        sources = {k: v for k, v in ds.source_files.items() if not k.startswith("narrative/")}
        sources.update(digests)
        ds = dataclasses.replace(ds, narratives=texts, source_files=dict(sorted(sources.items())))
        self.result = (dataclasses.replace(result, problems=problems, dataset=ds), figures)
        self.validation_due = problems  # the narratives' warnings too, after the pass (see validate)
        self.listener.problems("", [])
        return True

    def make_worker(self) -> None:

        result, figures = self.result
        ds = result.dataset
        languages = self.s.languages or ds.evaluation.languages
        unknown = [lang for lang in languages if lang not in ds.evaluation.languages]
        if unknown:
            raise ReportgenError(f"languages {unknown} are not declared in evaluation.yaml")
        epoch = source_date_epoch(ds.evaluation.published, self.s.data_date)
        plan = {"epoch": epoch, "languages": list(languages)}
        envs = self.worker.envs if self.worker is not None else {}
        self.worker = Worker(self.s, plan, model=(ds, figures))
        self.worker.envs = envs
        self.docs = plan_documents(ds, languages)

    def pause_pdfs(self, paused: bool) -> None:
        for process in self.pdfs:
            process.pause(paused)

    def order(self) -> list[Doc]:
        """The publications open in a browser first, then the others in the plan's order."""
        open_pages = self.viewing()
        return sorted(self.docs, key=lambda d: doc_url(d) not in open_pages)

    def html_pass(self) -> None:
        worker = self.worker
        errors: dict[str, str] = {}
        known = {d.key for d in self.docs}
        for key in [k for k in self.waiting if k not in known]:
            del self.waiting[key]
        open_pages = self.viewing()
        for doc in self.order():
            self.check()
            try:
                page = worker.page(doc)
            except ReportgenError as exc:
                errors[doc.key] = str(exc)
                continue
            except jinja2.TemplateError as exc:  # a template that does not compile (syntax)
                where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "a template"
                line = getattr(exc, "lineno", None)
                errors[doc.key] = f"template {where}" + (f": line {line}" if line else "") + f": {exc.message}"
                continue
            html_path = self.s.output / f"{doc.stem}.html"
            if self.shown.get(doc.key) != page.key:
                atomic.write_if_changed(html_path, page.html)
                self.shown[doc.key] = page.key
                self.listener.page(doc.stem)
            if worker.is_current(page):
                self.waiting.pop(doc.key, None)
                self.failed_pdfs.pop(doc.key, None)
            else:
                self.waiting[doc.key] = page
            for process in self.pdfs:
                if process.busy and process.page.doc.key == doc.key and process.page.key != page.key:
                    process.restart()  # that PDF is of a page that changed again
            if doc_url(doc) in open_pages:
                # The open page's PDF starts now, beside the other pages' HTML. The PDF processes go on first: a
                # stopped process never reads a page larger than the pipe's buffer, and the engine then waited in
                # send() for ever (or in recv() for a result it had stopped half-sent).
                self.pause_pdfs(False)
                self.pump_pdf()
            else:
                self.pause_pdfs(False)  # the open pages are up to date: the PDFs go on beside the others' HTML
                # A PDF that is done is collected between two pages, not after the pass: the open page's PDF
                # reached its browser only once every other page's HTML was written (4-6 s after a save). The
                # other pages' PDFs start after the pass, as before (the pass keeps the CPU).
                self.pump_pdf(collect_only=True)
        self.render_errors = errors
        self.report_render_errors()

    def report_render_errors(self) -> None:
        lines = [f"{key}: {error}" for key, error in self.render_errors.items()]
        lines += [f"{key}: PDF: {error}" for key, error in self.failed_pdfs.items()]
        if lines:
            unique = list(dict.fromkeys(e.split(": ", 1)[1] for e in lines))
            shown = unique if len(unique) < len(lines) else lines
            self.listener.problems("build", shown[:50])
        elif not has_errors(self.problems):
            self.listener.problems("", [])

    # -- PDFs ----------------------------------------------------------------------------------------------------

    def pump_pdf(self, *, collect_only: bool = False) -> bool:
        """Collect finished PDFs; unless ``collect_only``, give each idle process its next page (open pages to the
        first process, the others to the second). Whether anything was done."""
        if not self.pdfs or self.worker is None:
            return False
        worked = False
        for process in self.pdfs:
            message = process.result()
            if message is not None:
                worked = True
                self.finish_pdf(message)
        if collect_only or not self.waiting or has_errors(self.problems):
            return worked
        open_pages = self.viewing()
        in_flight = {p.page.doc.key for p in self.pdfs if p.busy}
        front, back = self.pdfs
        for process, wanted in ((front, True), (back, False)):
            if process.busy:
                continue
            key = next((k for k in self.waiting if k not in in_flight
                        and (doc_url(Doc.from_key(k)) in open_pages) == wanted), None)
            if key is not None:
                process.submit(self.waiting[key], self.worker.epoch)
                in_flight.add(key)
                worked = True
        return worked

    def finish_pdf(self, message) -> None:
        status, page_key = message[0], message[1]
        doc_key = next((k for k, p in self.waiting.items() if p.key == page_key), None)
        if doc_key is None or self.shown.get(doc_key) != page_key:
            return  # the page changed while its PDF was rendered: the newer one is due
        page = self.waiting[doc_key]
        if status == "built":
            _, _, data, pages, seconds = message
            self.worker.record(page, data, pages, seconds)
            self.failed_pdfs.pop(doc_key, None)
            say(f"reportgen serve: PDF of {doc_key} rendered in {seconds:.1f} s ({pages} p.)")
            self.listener.pdf(page.doc.stem)
        else:
            self.failed_pdfs[doc_key] = message[2]
            say(f"reportgen serve: PDF of {doc_key} failed: {message[2]}")
        del self.waiting[doc_key]  # after telling: whoever waits for idle() has heard of this PDF
        self.report_render_errors()

    def idle(self) -> bool:
        """Nothing queued, no pass due, no PDF due or rendering (tests and the benchmark wait for this)."""
        return not self.busy() and not self.waiting and not any(p.busy for p in self.pdfs)

    def busy(self) -> bool:
        """A change is queued or being handled (the pages may not show the last save yet)."""
        return bool(self.queued or self.full or self.handling)


def _lines(problems: list[Problem]) -> list[str]:
    """Problems as the page's banner lists them: errors first, each with its file, row, column and message."""
    return [str(p) for p in sorted(problems, key=lambda p: (p.severity != "error", sort_key(p)))]
