"""The render job: a pool of warm forked workers, their limits, and the per-publication key.

Incremental by content. Each publication has a *key*: the sha256 of its rendered HTML, of the local files that
HTML loads (stylesheets, fonts, images: :mod:`reportgen.deps`), of the PDF renderer (code and WeasyPrint version),
of the PDF options and of its attachments. A publication is re-rendered only when its key changed or its files are
not the ones the last build wrote (:mod:`reportgen.state` keeps both); every other publication keeps its bytes and
modification time. Templates, styles, data and code changes are all caught this way, and a change that does not
alter what a publication prints does not re-render it. A render that replaces a publication keeps the
files it replaces (``state.keep_render``, hard links) with their key, and a later render of that key puts them back
instead of rendering (a setting changed and changed back, a data edit undone, languages narrowed then widened).

Fast. Rendering pays the interpreter start-up and the WeasyPrint import once per render job: the job imports
everything, then forks a pool of warm workers (one per core it was given) that render documents from a shared
queue, so cores stay busy until the last document. The first render job also forks the *data job*, which writes
the data files and the changes report (:func:`reportgen.publish.publish_data`) while the workers render.

Limited. Each document has a time limit (``render_timeout``, an alarm) and each worker a memory cap
(``render_memory_mb``, RLIMIT_AS); a worker that dies takes down only the documents it was rendering, which are
then rendered again one at a time so that the one that kills its worker is the one named.

Safe. Every file is written through :mod:`reportgen.atomic`; a per-document state file is written after the
document's files, so a build killed at any point is completed by running it again.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import multiprocessing as mp
import os
import re
import resource
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from html import unescape

from . import atomic, charts, context, layout, pdf, state, usercache
from .aggregate import data_tables, slice_tables
from .assets import dataset_images
from .console import say
from .context import RenderSettings, set_chart_store
from .deps import dependencies_digest, html_dependencies
from .errors import ReportgenError
from .export import tables_to_csv_bytes
from .i18n import catalog_path
from .model import Doc
from .plan import KIND_WEIGHT, shard_keys
from .publish import publish_data
from .render import make_environment, render_html
from .settings import Settings, template_dirs

#: Templates of other stages (the index page, the review pages): not compiled by the render job's warm-up.
NOT_RENDERED = {"index.html.j2", "languages.html.j2", "changes.html.j2", "validation.html.j2", "preview.html.j2",
                "partials/preview.html.j2"}


# --------------------------------------------------------------------------------------------------------------
# The data job
# --------------------------------------------------------------------------------------------------------------

def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the render job dies (killed by Snakemake, Ctrl-C), rather than write data files on
    after it, perhaps over those of the next build."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def _data_job_main(s: Settings, plan: dict, conn, parent: int) -> None:  # pragma: no cover - forked process
    """Body of the data job: publish_data, then send None (done) or the error message to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    try:
        os.nice(5)  # the documents come first; the data files use what the workers leave
    except OSError:
        pass
    try:
        assert _WORKER is not None
        t0 = time.perf_counter()
        publish_data(s, _WORKER.ds, _WORKER.figures, tuple(plan["languages"]), int(plan["epoch"]))
        say(f"data files and changes report written in {time.perf_counter() - t0:.1f} s")
        conn.send(None)
    except ReportgenError as exc:
        conn.send(str(exc))
    except Exception as exc:  # noqa: BLE001 - said to the parent, which fails the job with it
        conn.send(f"internal error {type(exc).__name__}: {exc} (please report it)")
    finally:
        conn.close()


class _DataJob:
    """The data files, written by a forked process (it shares the loaded model) while the documents render."""

    def __init__(self, s: Settings, plan: dict):
        ctx = mp.get_context("fork")
        self.recv, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_data_job_main, args=(s, plan, send, os.getpid()), name="reportgen-data",
                                   daemon=True)
        self.process.start()
        send.close()

    def result(self) -> str | None:
        """Wait for the job; None when it succeeded, else what went wrong."""
        try:
            message = self.recv.recv()
        except EOFError:
            message = ("the process writing the data files died (out of memory or crash); run the build again")
        self.process.join()
        return message


# --------------------------------------------------------------------------------------------------------------
# One document
# --------------------------------------------------------------------------------------------------------------

@dataclass
class DocResult:
    key: str
    status: str  # built | unchanged | failed
    seconds: float = 0.0
    pages: int = 0
    pdf_bytes: int = 0
    html_bytes: int = 0
    title: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    stranded: float | None = None  # how full the last page is, when it is stranded even after fitting


@dataclass
class Page:
    """A publication's HTML and its key (see :meth:`Worker.page`)."""

    doc: Doc
    html: str
    key: str
    title: str
    attachments: list[tuple[str, bytes, str]]
    #: What the HTML was made from (:meth:`Worker.html_inputs`), or None when that cannot be told.
    prekey: str | None = None
    #: sha256 of ``html`` (hex): part of the key, and what the state records as ``rendered``.
    rendered: str = ""


class RenderTimeout(Exception):
    pass


# The render time limit. WeasyPrint catches every exception in places (all of them while it draws an SVG image),
# so an alarm may be swallowed and the document finished without a chart: the alarm is remembered and fires again
# until the render is disarmed, and a render during which it fired fails however it ended.
_ALARM = {"armed": False, "fired": False}


def _on_alarm(signum, frame):  # pragma: no cover - exercised through render limits tests
    if not _ALARM["armed"]:
        return
    _ALARM["fired"] = True
    signal.setitimer(signal.ITIMER_REAL, 0.25)
    raise RenderTimeout()


def _arm_alarm(seconds: float) -> None:
    _ALARM.update(armed=True, fired=False)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm_alarm() -> None:
    _ALARM["armed"] = False
    signal.setitimer(signal.ITIMER_REAL, 0)


class Worker:
    """Per-process rendering state: the model, Jinja environments, fingerprints. Built once per worker."""

    def __init__(self, s: Settings, plan: dict, model: tuple | None = None):
        """``model``: the (dataset, figures) pair; by default the one the prepare stage left in the build state."""
        self.s = s
        self.plan = plan
        self.ds, self.figures = model or state.read_pickle(state.model_path(s.output), "prepared model")
        self.dirs = template_dirs(s.templates)
        self.envs: dict = {}
        self.fingerprint = pdf.renderer_fingerprint()
        self._font_config = None
        self._stylesheets = None
        self.epoch = int(plan["epoch"])
        # The published copies (assets/css, assets/fonts, assets/data) and the project's templates; never the
        # dataset folder itself.
        self.roots = [s.output / "assets", *self.dirs]
        set_chart_store(state.chart_store(s.output))

    @property
    def font_config(self):
        """One WeasyPrint font configuration per process (made after the fork, never shared between processes)."""
        if self._font_config is None:
            from weasyprint.text.fonts import FontConfiguration  # start-up time (WeasyPrint)

            self._font_config = FontConfiguration()
        return self._font_config

    @property
    def stylesheets(self):
        """Parsed stylesheets kept from one document to the next (see :class:`reportgen.pdf.StylesheetCache`)."""
        if self._stylesheets is None:
            self._stylesheets = pdf.StylesheetCache(self.font_config)
        return self._stylesheets

    def warm_up(self) -> None:
        """Pay, once in the parent, what every forked worker would otherwise pay on its first document: imports,
        every compiled template (macros and partials included), matplotlib's drawing path and the charts' fonts.
        Forked workers inherit all of it, and the data job uses the other core meanwhile."""
        charts._setup()
        try:
            charts.hbar_svg(["—"], [1.0], "EUR", self.plan["languages"][0])  # imports and fonts of a real chart
        except Exception:  # noqa: BLE001 - only a warm-up: a document that draws charts says what is wrong
            pass
        for lang in self.plan["languages"]:
            env = self.env(lang)
            for name in env.list_templates(filter_func=lambda n: n.endswith(".j2") and n not in NOT_RENDERED):
                try:
                    env.get_template(name)
                except Exception:  # noqa: BLE001 - a broken template fails its documents with a clear message later
                    pass

    def env(self, lang: str):
        if lang not in self.envs:
            self.envs[lang] = make_environment(lang, template_dirs=self.dirs)
        return self.envs[lang]

    def attachments(self, doc: Doc) -> list[tuple[str, bytes, str]]:
        if not self.s.pdf_variant.startswith("pdf/a-3"):
            return []
        if doc.kind == "synthesis":
            tables = data_tables(self.ds, self.figures)
        else:
            tables = slice_tables(self.ds, self.figures, doc.kind, doc.code)
        return [(f"{name}.csv", data, f"Data of this publication: {name}")
                for name, data in tables_to_csv_bytes(tables).items()]

    def page(self, doc: Doc) -> "Page":
        """A publication's HTML and key (context → HTML → key): what decides whether its PDF must be rendered.

        The preview (:mod:`reportgen.preview`) calls this alone to show a saved change at once, then
        :meth:`render_pdf` and :meth:`record` in the background: the same steps as :meth:`render`, so the build
        state it writes is the one a build would write."""
        s = self.s
        html_path = s.output / f"{doc.stem}.html"
        ctx = context.build_context(doc, self.ds, self.figures, settings=self.render_settings())
        prekey = self.html_inputs(doc, ctx)
        html = self.published_html(doc, prekey)
        if html is None:
            html = render_html(doc, ctx, self.env(doc.lang))
        attachments = self.attachments(doc)
        deps = html_dependencies(html, html_path)
        rendered = hashlib.sha256(html.encode())
        h = hashlib.sha256(rendered.digest())
        for part in (dependencies_digest(deps, s.output).encode(), self.fingerprint.encode(),
                     s.pdf_variant.encode(), s.public_url.encode(), str(self.epoch).encode()):
            h.update(hashlib.sha256(part).digest())
        for name, data, _ in attachments:
            h.update(hashlib.sha256(name.encode() + b"\0" + data).digest())
        return Page(doc, html, h.hexdigest(), _title_of(html), attachments, prekey, rendered.hexdigest())

    def html_inputs(self, doc: Doc, ctx: dict) -> str | None:
        """A digest of everything a publication's HTML is made from: its context (:func:`reportgen.context.
        context_digest`), and what renders it, the same for every page of a language: reportgen's code, the
        versions of Jinja, MarkupSafe and Babel, the language, and the size and modification time of every file of
        the template folders and of the language's catalog (stat only, so that a saved template or catalog changes
        it at once in the preview's long-lived process, and a file put back as it was changes it too). None when
        the context cannot be digested.

        Rendering is the larger half of an unchanged publication's check (Jinja, the typography of every printed
        value): a build after a one-country edit checks every publication, and most have the same inputs."""
        digest = context.context_digest(ctx)
        if digest is None:
            return None
        files: list[str] = []
        for folder in self.dirs:
            _tree_signature(str(folder), files)
        catalog = catalog_path(doc.lang)
        return usercache.digest(digest, usercache.code_digest(), _renderer_versions(), doc.lang,
                                f"{catalog}\0{state.file_signature(catalog)}", "\n".join(files))

    def published_html(self, doc: Doc, prekey: str | None) -> str | None:
        """The published HTML of ``doc`` when it was made from ``prekey`` (its state says so, and the file is the
        one its state describes) and is the HTML the render gave, byte for byte (not the tighter version a stranded
        last page made it publish: :class:`reportgen.layout.Fitter`): the HTML a render would give. None
        otherwise."""
        if prekey is None:
            return None
        last = state.read_doc_state(self.s.output, doc)
        if not last or last.get("prekey") != prekey or not last.get("html") or not last.get("rendered"):
            return None
        path = self.s.output / f"{doc.stem}.html"
        before = state.file_signature(path)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if before != last["html"] or state.file_signature(path) != before:  # not that file, or written meanwhile
            return None
        if hashlib.sha256(data).hexdigest() != last["rendered"]:  # published as fitted
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def is_current(self, page: "Page") -> bool:
        """Whether the published files are those the build state records for this very key."""
        s = self.s
        last = state.read_doc_state(s.output, page.doc)
        if not last or last.get("key") != page.key:
            return False
        restore_cached(s.output, page.doc, last)  # set aside by a build of fewer languages: put back as it was
        return (last.get("pdf") == state.file_signature(s.output / f"{page.doc.stem}.pdf")
                and last.get("html") == state.file_signature(s.output / f"{page.doc.stem}.html"))

    def render_pdf(self, page: "Page"):
        """The PDF of a page whose HTML is published (:class:`reportgen.pdf.PdfResult`)."""
        s = self.s
        # A publication whose last page would be stranded is rendered again one step tighter (reportgen.layout);
        # the build and the preview both render through here, so their PDFs are the same.
        fitter = layout.Fitter(page.html)
        rendered = pdf.render_pdf(s.output / f"{page.doc.stem}.html", output_root=s.output, roots=self.roots,
                                  variant=s.pdf_variant, public_url=s.public_url, attachments=page.attachments,
                                  epoch=self.epoch, font_config=self.font_config, stylesheets=self.stylesheets,
                                  fit=fitter)
        if fitter.last is not None and fitter.last.stranded:
            rendered.stranded = fitter.last.fill
        return rendered

    def record(self, page: "Page", data: bytes, pages: int, seconds: float) -> None:
        """Write the PDF, then the publication's state (after its files: a build killed between the two
        renders it again)."""
        s = self.s
        pdf_path = s.output / f"{page.doc.stem}.pdf"
        atomic.write_bytes(pdf_path, data)
        atomic.write_text(state.doc_state_path(s.output, page.doc), state.dump_json({
            "key": page.key, "pdf": state.file_signature(pdf_path),
            "html": state.file_signature(s.output / f"{page.doc.stem}.html"),
            "pages": pages, "title": page.title, "seconds": round(seconds, 3), "prekey": page.prekey,
            "rendered": page.rendered,
        }))

    def render(self, key: str) -> DocResult:
        doc = Doc.from_key(key)
        s = self.s
        t0 = time.perf_counter()
        html_path = s.output / f"{doc.stem}.html"
        try:
            if s.render_timeout:  # the whole document: context, Markdown, HTML and PDF
                _arm_alarm(s.render_timeout)
            page = self.page(doc)
            current = self.is_current(page) or state.restore_render(s.output, doc, page.key) is not None
            if current:
                # Its files are those of its key: left as they are, or put back as an earlier render left them.
                last = state.read_doc_state(s.output, doc) or {}
                if last and page.prekey is not None and (last.get("prekey"), last.get("rendered")) != (
                        page.prekey, page.rendered):
                    # Rendered again to the same HTML (another context, or other template files' times): the next
                    # build takes it from the published file.
                    atomic.write_text(state.doc_state_path(s.output, doc), state.dump_json(
                        {**last, "prekey": page.prekey, "rendered": page.rendered}))
                return DocResult(key, "unchanged", time.perf_counter() - t0, last.get("pages", 0),
                                 last["pdf"][0], last["html"][0], page.title)
            state.keep_render(s.output, doc)  # the render it replaces, for a build that asks for it again
            atomic.write_if_changed(html_path, page.html)
            rendered = self.render_pdf(page)
            if s.render_timeout:
                _disarm_alarm()
                if _ALARM["fired"]:  # swallowed inside WeasyPrint: the PDF may lack a part
                    raise RenderTimeout()
            seconds = time.perf_counter() - t0
            self.record(page, rendered.data, rendered.pages, seconds)
            return DocResult(key, "built", seconds, rendered.pages, len(rendered.data), len(page.html.encode()),
                             page.title, warnings=rendered.warnings, stranded=rendered.stranded)
        except BaseException as exc:  # noqa: BLE001 - one document's failure must not stop the others
            if s.render_timeout:
                _disarm_alarm()
            return self.failed(key, time.perf_counter() - t0, exc)
        finally:
            if s.render_timeout:
                _disarm_alarm()

    def failed(self, key: str, seconds: float, exc: BaseException) -> DocResult:
        """A document's failure, said so that the user can act; KeyboardInterrupt and SystemExit go on."""
        from weasyprint.urls import FatalURLFetchingError  # start-up time (WeasyPrint)

        s = self.s
        # WeasyPrint turns any exception raised while it fetches a resource into FatalURLFetchingError("Error
        # fetching …") and swallows some elsewhere: the time limit and memory are told by cause and by the alarm.
        cause = exc.__cause__
        if (isinstance(exc, RenderTimeout) or isinstance(cause, RenderTimeout)
                or (s.render_timeout and _ALARM["fired"])):
            return DocResult(key, "failed", seconds,
                             error=f"took longer than render_timeout = {s.render_timeout:g} s; simplify the "
                                   "publication (fewer rows) or raise render_timeout in the config")
        memory = (f"needed more than render_memory_mb = {s.render_memory_mb} MiB; raise it in the config or reduce "
                  "the publication's size")
        if isinstance(exc, MemoryError) or isinstance(cause, MemoryError):
            return DocResult(key, "failed", seconds, error=memory)
        # A refused resource (ResourceRefused) is a FatalURLFetchingError, a BaseException: caught here, not by
        # `except Exception`, else it would break the worker pool (or the render stage) with a traceback.
        if isinstance(exc, (ReportgenError, FatalURLFetchingError)):
            return DocResult(key, "failed", seconds, error=str(exc))
        disk = exc if isinstance(exc, OSError) else cause
        if isinstance(disk, OSError) and disk.errno in (errno.ENOSPC, errno.EDQUOT):
            # Written by a library, not through reportgen.atomic: WeasyPrint's font files in the render job's
            # temporary folder (in the output folder's state), a fitted HTML. Nothing is published half-written.
            return DocResult(key, "failed", seconds, error=atomic.describe_write_error(
                disk, disk.filename or f"a temporary file in {state.tmp_dir(s.output, 'render')}"))
        if not isinstance(exc, Exception):
            raise exc
        if s.render_memory_mb and _near_memory_cap(s.render_memory_mb):
            # Out of address space, C libraries fail in their own ways (SystemError, cairo errors…).
            return DocResult(key, "failed", seconds, error=memory.replace(
                " MiB;", f" MiB ({type(exc).__name__}: {exc});", 1))
        return DocResult(key, "failed", seconds,
                         error=f"internal error {type(exc).__name__}: {exc} (please report it)")

    def render_settings(self) -> RenderSettings:
        # The plan's languages are the ones the build publishes (the render job's settings do not name them).
        return make_render_settings(self.s, self.ds, self.plan.get("languages"))


def restore_cached(output, doc: Doc, last: dict) -> bool:
    """Put back a publication a build of fewer languages moved to the state's cache (:func:`reportgen.publish.
    remove_stale`), when its files are the ones its state describes (renames keep size and modification time)."""
    pairs = [(state.cached_path(output, doc, ext), output / f"{doc.stem}{ext}", last.get(ext[1:]))
             for ext in (".html", ".pdf")]
    if not all(state.file_signature(cached) == signature for cached, _, signature in pairs):
        return False
    for cached, published, _ in pairs:
        published.parent.mkdir(parents=True, exist_ok=True)
        os.replace(cached, published)
    return True


def published_languages(s: Settings, ds) -> tuple[str, ...]:
    """The languages a build of ``s`` publishes: config ``languages`` within the evaluation's, in the evaluation's
    order (all of the evaluation's when the config names none)."""
    return tuple(lang for lang in ds.evaluation.languages if not s.languages or lang in s.languages)


def make_render_settings(s: Settings, ds, languages=None) -> RenderSettings:
    """What the build settings decide about every publication (see :class:`reportgen.context.RenderSettings`).
    ``languages``: the languages the build publishes (its plan's), by default those of ``s``."""
    return RenderSettings(
        data_date=s.data_date or ds.evaluation.published,
        pdf_variant=s.pdf_variant,
        public_url=s.public_url,
        narrative_images=frozenset(dataset_images(ds.root)),
        languages=(tuple(lang for lang in ds.evaluation.languages if lang in languages) if languages
                   else published_languages(s, ds)),
    )


def over_budget(s: Settings, r: DocResult) -> str:
    """A sentence when a rendered publication has more pages than its kind's budget (``max_pages_*``), else ``""``."""
    kind = Doc.from_key(r.key).kind
    budget = getattr(s, f"max_pages_{kind}", 0)
    if r.status == "failed" or not budget or r.pages <= budget:
        return ""
    return (f"{r.key}: {r.pages} pages, over the budget of {budget} for a {kind} publication (max_pages_{kind}); "
            "shorten its narrative or its lists, or raise the budget in the config")


@functools.lru_cache(maxsize=1)
def _renderer_versions() -> str:
    """The versions of the libraries that turn a context into HTML."""
    from importlib.metadata import version

    return " ".join(f"{name} {version(name)}" for name in ("jinja2", "markupsafe", "babel"))


def _tree_signature(folder: str, out: list[str]) -> None:
    """Append ``path\0size\0mtime_ns`` of every file under ``folder`` (sorted; a few hundred microseconds)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir():
                _tree_signature(entry.path, out)
            elif entry.is_file():
                st = entry.stat()
                out.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}")
        except OSError:
            continue


def _title_of(html: str) -> str:
    m = re.search(r"<title>(.*?)</title>", html, re.S | re.I)
    return unescape(m.group(1)).strip() if m else ""


def _near_memory_cap(memory_mb: int) -> bool:
    """Whether this process's peak address space came within 10 % of its cap (Linux; False elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmPeak:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return False
    return peak_kb * 1024 >= 0.9 * memory_mb * 1024 * 1024


# --------------------------------------------------------------------------------------------------------------
# The pool
# --------------------------------------------------------------------------------------------------------------

_WORKER: Worker | None = None


# Address space set aside under the memory cap and given back when a document runs out of memory, so that its
# failure can still be sent to the parent (else the worker dies printing a traceback).
_RESERVE: bytearray | None = None
_RESERVE_BYTES = 16 * 1024 * 1024


def _init_worker(memory_mb: int) -> None:
    global _RESERVE
    if memory_mb:
        _RESERVE = bytearray(_RESERVE_BYTES)
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        sys.unraisablehook = _quiet_memory_errors
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quiet_memory_errors(unraisable, _default=sys.unraisablehook) -> None:
    """Out of address space, C callbacks (FreeType's file reads in matplotlib…) raise MemoryError where Python can
    only print it ("Exception ignored in …" and a traceback, once per call). The document's own failure says it in
    one line; the other unraisable exceptions are printed as usual."""
    if not isinstance(unraisable.exc_value, MemoryError):
        _default(unraisable)


def _memory_failure(key: str, memory_mb: int) -> DocResult:
    return DocResult(key, "failed", error=f"needed more than render_memory_mb = {memory_mb} MiB; raise it in the "
                                          "config or reduce the publication's size")


def _is_memory_failure(r: DocResult) -> bool:
    return r.status == "failed" and "render_memory_mb" in (r.error or "")


def _render_in_worker(key: str) -> DocResult:
    global _RESERVE
    assert _WORKER is not None
    if _RESERVE is None and _WORKER.s.render_memory_mb:
        try:
            _RESERVE = bytearray(_RESERVE_BYTES)
        except MemoryError:
            pass
    try:
        result = _WORKER.render(key)
    except MemoryError:  # raised again while the document's failure was being handled
        _RESERVE = None
        return _memory_failure(key, _WORKER.s.render_memory_mb)
    if _is_memory_failure(result):
        _RESERVE = None
    return result


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def render_shard(s: Settings, shard: int, *, jobs: int | None = None) -> list[DocResult]:
    """Render this shard's publications with a pool of warm forked workers; write the shard manifest."""
    global _WORKER
    plan = state.read_plan(s.output)
    keys = shard_keys(plan, shard)
    if not pdf.harfbuzz_subset_available():
        say("warning: libharfbuzz-subset is not installed: WeasyPrint falls back to fontTools and renders about "
             "twice as slowly (apt-get install libharfbuzz-subset0)")
    import weasyprint  # noqa: F401 - paid once here, inherited by the forked workers

    _WORKER = Worker(s, plan)
    # Started before the render pool (no thread exists yet to be copied by the fork).
    data_job = _DataJob(s, plan) if shard == 0 else None
    _WORKER.warm_up()
    jobs = max(1, min(jobs or available_cores(), len(keys) or 1))
    # Heaviest first, so the long documents start early and the pool ends together.
    weights = {}
    for k in keys:
        st = state.read_doc_state(s.output, Doc.from_key(k))
        weights[k] = float(st["seconds"]) if st and st.get("seconds") else KIND_WEIGHT[Doc.from_key(k).kind]
    keys.sort(key=lambda k: (-weights[k], k))
    results: list[DocResult] = []
    total = len(keys)
    t0 = time.perf_counter()

    def report(r: DocResult) -> None:
        results.append(r)
        extra = f"{r.pages} p., {r.seconds:.2f} s" if r.status != "failed" else r.error
        say(f"[{len(results):>{len(str(total))}}/{total}] {r.status:<9} {r.key} ({extra})")
        over = over_budget(s, r)
        if over:
            say(f"warning: {over}")
        if r.stranded is not None:
            say(f"warning: {r.key}: its last page is stranded ({r.stranded:.0%} of a page, not a section of its "
                "own) even at the tightest fit; shorten its last sections or its data note")

    # Always in forked workers, even one: the memory cap (RLIMIT_AS) applies to a worker, never to this process,
    # which must survive to report every document.

    # At most one document per worker is in flight, so when a worker dies (killed by the kernel for memory,
    # a crash in a C library) the pool's death takes down only the documents being rendered: they are
    # rendered again one at a time ("suspects"), so the one that kills its worker is the one named and the
    # others are built; documents not yet started go on in a fresh pool.
    pending = list(keys)
    suspects: list[str] = []
    while pending or suspects:
        alone = not pending
        queue = [suspects.pop(0)] if alone else pending
        workers = 1 if alone else min(jobs, len(queue))
        broken: list[str] = []
        # A worker that ran out of memory is not trusted with another document: what it had allocated may not have
        # been given back (C libraries' caches, fragmented heaps), so the next document would fail for its sake
        # (or fail to say why). The pool is replaced once what is in flight is done.
        spent: list[bool] = []

        def collect(fut, k: str) -> None:
            try:
                r = fut.result()
            except BrokenProcessPool:
                broken.append(k)
                return
            except MemoryError:  # the worker could not even send the document's failure
                r = _memory_failure(k, s.render_memory_mb)
            except Exception as exc:  # noqa: BLE001 - raised in the worker outside a document
                r = DocResult(k, "failed", error=f"internal error {type(exc).__name__}: {exc} (please report it)")
            if _is_memory_failure(r):
                spent.append(True)
            report(r)

        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=_init_worker, initargs=(s.render_memory_mb,)) as pool:
            in_flight: dict = {}
            while (queue or in_flight) and not broken and not spent:
                while queue and len(in_flight) < workers:
                    k = queue.pop(0)
                    in_flight[pool.submit(_render_in_worker, k)] = k
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    collect(fut, in_flight.pop(fut))
            for fut, k in in_flight.items():  # the pool is dead: what was in flight went with it
                collect(fut, k)
        if alone:
            for k in broken:
                report(DocResult(k, "failed", error="the rendering process died (out of memory or crash); "
                                                    "see the log; raise render_memory_mb if needed"))
        else:
            suspects += broken
    data_error = data_job.result() if data_job is not None else None
    elapsed = time.perf_counter() - t0
    manifest = {"shard": shard, "seconds": round(elapsed, 3), "jobs": jobs,
                "documents": [asdict(r) for r in sorted(results, key=lambda r: r.key)]}
    failed = [r for r in results if r.status == "failed"]
    built = sum(r.status == "built" for r in results)
    say(f"render job {shard}: {built} built, {total - built - len(failed)} unchanged, {len(failed)} failed "
         f"in {elapsed:.1f} s with {jobs} worker(s)")
    if failed or data_error:  # the job fails: no manifest of a previous build may say it is done
        state.shard_manifest(s.output, shard).unlink(missing_ok=True)
    if failed:
        atomic.write_text(state.shard_failed(s.output, shard), state.dump_json(manifest))
        for r in failed:
            say(f"ERROR: {r.key}: {r.error}")
        raise ReportgenError(f"{len(failed)} publication(s) failed to render; the others were built. "
                             "Fix the problems above and run the build again."
                             + (f" The data files were not written either: {data_error}" if data_error else ""))
    if data_error:
        # Rendered documents are recorded (the summary counts them); the job fails so that the next build runs it.
        atomic.write_text(state.shard_failed(s.output, shard),
                          state.dump_json({**manifest, "data_error": data_error}))
        raise ReportgenError(f"the publications were rendered but the data files were not: {data_error}")
    try:
        state.shard_failed(s.output, shard).unlink()
    except FileNotFoundError:
        pass
    atomic.write_text(state.shard_manifest(s.output, shard), state.dump_json(manifest))
    return results


