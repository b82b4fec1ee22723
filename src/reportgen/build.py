"""The build stages the workflow's rules call: prepare (validation included) → render (shards) → index.

Incremental by content. Each publication has a *key*: the sha256 of its rendered HTML, of the local files that
HTML loads (stylesheets, fonts, images), of the PDF renderer (code and WeasyPrint version) and of the PDF options.
A publication is re-rendered only when its key changed or its files are not the ones the last build wrote; every
other publication keeps its bytes and modification time. Templates, styles, data and code changes are all caught
this way, and a change that does not alter what a publication prints (a grand total that moves a share only
beyond the printed precision) does not re-render it.

Fast. Rendering pays the interpreter start-up and the WeasyPrint import once per render job: the job imports
everything, then forks a pool of warm workers (one per core it was given) that render documents from a shared
queue, so cores stay busy until the last document.

Safe. Every file is written through :mod:`reportgen.atomic`; a per-document state file is written after the
document's files, so a build killed at any point is completed by running it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import atomic
from .errors import ReportgenError, ValidationFailed, has_errors
from .model import Doc
from .settings import Settings, source_date_epoch

PLAN_VERSION = 1
DATA_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
MAX_DATA_IMAGE_BYTES = 5 * 1024 * 1024
KIND_WEIGHT = {"synthesis": 12.0, "region": 3.0, "country": 1.5}
NOT_RENDERED = {"index.html.j2", "changes.html.j2"}  # templates of other stages: not compiled by the render job


# --------------------------------------------------------------------------------------------------------------
# Paths of the hidden build state
# --------------------------------------------------------------------------------------------------------------

def model_pickle(s: Settings) -> Path:
    return s.state_dir / "model.pickle"


def plan_path(s: Settings) -> Path:
    return s.state_dir / "plan.json"


def shard_manifest(s: Settings, shard: int) -> Path:
    return s.state_dir / "shards" / f"{shard}.json"


def chart_store(s: Settings) -> Path:
    """Charts kept from one build to the next (see :func:`reportgen.context.chart_svg`)."""
    return s.state_dir / "charts"


def doc_state_path(s: Settings, doc: Doc) -> Path:
    return s.state_dir / "docs" / f"{doc.stem}.json"


def _dump_json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------
# Validation (part of prepare; also `reportgen validate`)
# --------------------------------------------------------------------------------------------------------------

def stage_validate(s: Settings, *, quiet: bool = False):
    """Validate the dataset; write validation.json/.html; return the result (with the validated dataset).

    Raises ValidationFailed (after writing the report) when the dataset has errors. Publications are untouched.
    """
    from .validate import validate_dataset, write_report

    result = validate_dataset(s.data, max_xlsx_bytes=int(s.max_xlsx_mb * 1_000_000))
    if not quiet:
        for p in result.problems:
            _log(str(p))
    write_report(result.problems, s.output, s.data)
    marker = s.state_dir / "validation-failed"
    if has_errors(result.problems):
        atomic.write_text(marker, f"{sum(p.severity == 'error' for p in result.problems)}\n")
        raise ValidationFailed(result.problems)
    marker.unlink(missing_ok=True)
    return result


def _load_pickle(path: Path, what: str):
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ReportgenError(f"cannot read the {what} at {path} ({exc}); run the build again "
                             "(snakemake --cores all --rerun-incomplete)") from None


# --------------------------------------------------------------------------------------------------------------
# Stage 1: prepare
# --------------------------------------------------------------------------------------------------------------

def template_dirs(s: Settings) -> list[Path]:
    from .render import templates_root

    dirs = [templates_root()]
    if s.templates:
        if not s.templates.is_dir():
            raise ReportgenError(f"the templates override folder {s.templates} does not exist; "
                                 "create it or set templates to \"\" in the config")
        dirs.insert(0, s.templates)
    return dirs


def copy_assets(s: Settings) -> list[Path]:
    """Copy stylesheets and fonts to {output}/assets/ (override folder first); remove assets no longer shipped."""
    wanted: dict[str, Path] = {}
    for base in reversed(template_dirs(s)):  # the override folder, last, wins
        for sub in ("css", "fonts"):
            folder = base / sub
            if folder.is_dir():
                for f in sorted(folder.rglob("*")):
                    if f.is_file() and not f.name.startswith("."):
                        wanted[f"{sub}/{f.relative_to(folder).as_posix()}"] = f
    # The dataset's own images (narrative Markdown may show assets/<name>.png|jpg|jpeg|svg): copied, size-capped,
    # under assets/data/. Anything else in the dataset's assets/ folder is not published.
    data_assets = Path(s.data) / "assets"
    if data_assets.is_dir():
        for f in sorted(data_assets.rglob("*")):
            rel = f.relative_to(data_assets).as_posix()
            if (f.is_file() and not f.is_symlink() and f.suffix.lower() in DATA_IMAGE_SUFFIXES
                    and not any(part.startswith(".") for part in rel.split("/"))
                    and f.stat().st_size <= MAX_DATA_IMAGE_BYTES):
                wanted[f"data/{rel}"] = f
    assets = s.output / "assets"
    written = []
    for rel, src in sorted(wanted.items()):
        dst = assets / rel
        atomic.write_if_changed(dst, src.read_bytes())
        written.append(dst)
    if assets.is_dir():
        for f in assets.rglob("*"):
            if f.is_file() and f.relative_to(assets).as_posix() not in wanted:
                f.unlink()
    return written


def plan_documents(ds, languages: tuple[str, ...]) -> list[Doc]:
    """Every publication: per language, the synthesis, a brief per region and per country with ≥ 1 action."""
    actions = ds.actions
    regions = sorted(set(actions["region"].dropna().astype(str)))
    countries = sorted(set(actions["country"].dropna().astype(str)))
    docs = []
    for lang in languages:
        docs.append(Doc(lang, "synthesis"))
        docs += [Doc(lang, "region", r) for r in regions]
        docs += [Doc(lang, "country", c) for c in countries]
    return docs


def assign_shards(docs: list[Doc], shards: int, weights: dict[str, float]) -> dict[str, int]:
    """Longest-processing-time-first assignment: heaviest documents first, each to the least loaded shard."""
    load = [0.0] * shards
    out = {}
    for d in sorted(docs, key=lambda d: (-weights.get(d.key, KIND_WEIGHT[d.kind]), d.key)):
        i = min(range(shards), key=lambda k: (load[k], k))
        out[d.key] = i
        load[i] += weights.get(d.key, KIND_WEIGHT[d.kind])
    return out


def stage_prepare(s: Settings, *, quiet: bool = False) -> dict:
    """Validate the dataset (:func:`stage_validate`), compute every figure, copy the assets and write the render
    plan. The data files are written by the first render job, while its workers render (:func:`publish_data`).

    One stage, one process: validating in a job of its own cost a second Python start, pandas import and a
    pickle of the dataset on every build (~0.7 s, 2 % of a build of the embedded dataset)."""
    from .aggregate import compute_figures
    from .catalog import write_catalog_data

    started = time.time()
    ds = stage_validate(s, quiet=quiet).dataset
    languages = s.languages or ds.evaluation.languages
    unknown = [l for l in languages if l not in ds.evaluation.languages]
    if unknown:
        raise ReportgenError(f"languages {unknown} are not declared in evaluation.yaml "
                             f"(it declares {list(ds.evaluation.languages)}); fix the languages config key")
    epoch = source_date_epoch(ds.evaluation.published, s.data_date)
    figures = compute_figures(ds)
    copy_assets(s)
    atomic.write_bytes(model_pickle(s), pickle.dumps((ds, figures), protocol=pickle.HIGHEST_PROTOCOL))
    write_catalog_data(s, ds)
    docs = plan_documents(ds, tuple(languages))
    weights = {}
    for d in docs:
        st = _read_state(s, d)
        if st and st.get("seconds"):
            weights[d.key] = float(st["seconds"])
    assignment = assign_shards(docs, s.shards, weights)
    plan = {
        "version": PLAN_VERSION,
        "epoch": epoch,
        "languages": list(languages),
        "shards": s.shards,
        "started": started,
        "documents": [{"key": d.key, "shard": assignment[d.key]} for d in docs],
    }
    atomic.write_text(plan_path(s), _dump_json(plan))
    _log(f"prepared {len(docs)} publications in {len(languages)} language(s) for {s.shards} render job(s)")
    return plan


# --------------------------------------------------------------------------------------------------------------
# Stage 2: render
# --------------------------------------------------------------------------------------------------------------

def publish_data(s: Settings, ds, figures, languages: tuple[str, ...], epoch: int) -> None:
    """The data files (``{output}/data/*.csv`` and ``figures.xlsx``) and the what-changed report
    (``changes.json``/``changes.html``, see :mod:`reportgen.changes`).

    No publication reads them, so the first render job writes them in a process of its own while its workers
    render (on a 20,000-action dataset the workbook alone takes ~7 s, which would otherwise hold every rebuild).
    """
    from .aggregate import data_tables
    from .changes import update_changes
    from .export import write_data

    update_changes(s, ds, figures, languages)
    write_data(data_tables(ds, figures), s.output / "data", epoch=epoch)


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the render job dies (killed by Snakemake, Ctrl-C), rather than write data files on
    after it, perhaps over those of the next build."""
    try:
        import ctypes

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
        _log(f"data files and changes report written in {time.perf_counter() - t0:.1f} s")
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
        import multiprocessing as mp

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


def _read_state(s: Settings, doc: Doc) -> dict | None:
    try:
        return json.loads(doc_state_path(s, doc).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _file_sig(p: Path) -> list[int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


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


class _Worker:
    """Per-process rendering state: the model, Jinja environments, fingerprints. Built once per worker."""

    def __init__(self, s: Settings, plan: dict):
        from .pdf import renderer_fingerprint

        self.s = s
        self.plan = plan
        self.ds, self.figures = _load_pickle(model_pickle(s), "prepared model")
        self.dirs = template_dirs(s)
        self.envs: dict = {}
        self.fingerprint = renderer_fingerprint()
        self._font_config = None
        self._stylesheets = None
        self.epoch = int(plan["epoch"])
        # The published copies (assets/css, assets/fonts, assets/data) and the project's templates; never the
        # dataset folder itself.
        self.roots = [s.output / "assets", *self.dirs]
        from .context import set_chart_store

        set_chart_store(chart_store(s))

    @property
    def font_config(self):
        """One WeasyPrint font configuration per process (made after the fork, never shared between processes)."""
        if self._font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            self._font_config = FontConfiguration()
        return self._font_config

    @property
    def stylesheets(self):
        """Parsed stylesheets kept from one document to the next (see :class:`reportgen.pdf.StylesheetCache`)."""
        if self._stylesheets is None:
            from .pdf import StylesheetCache

            self._stylesheets = StylesheetCache(self.font_config)
        return self._stylesheets

    def warm_up(self) -> None:
        """Pay, once in the parent, what every forked worker would otherwise pay on its first document: imports,
        every compiled template (macros and partials included), matplotlib's drawing path and the charts' fonts.
        Forked workers inherit all of it, and the data job uses the other core meanwhile."""
        from . import charts, context  # noqa: F401

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
        from .render import make_environment

        if lang not in self.envs:
            self.envs[lang] = make_environment(lang, template_dirs=self.dirs)
        return self.envs[lang]

    def attachments(self, doc: Doc) -> list[tuple[str, bytes, str]]:
        if not self.s.pdf_variant.startswith("pdf/a-3"):
            return []
        from .aggregate import slice_tables
        from .export import tables_to_csv_bytes

        if doc.kind == "synthesis":
            from .aggregate import data_tables

            tables = data_tables(self.ds, self.figures)
        else:
            tables = slice_tables(self.ds, self.figures, doc.kind, doc.code)
        return [(f"{name}.csv", data, f"Data of this publication: {name}")
                for name, data in tables_to_csv_bytes(tables).items()]

    def render(self, key: str) -> DocResult:
        from .context import build_context
        from .deps import dependencies_digest, html_dependencies
        from .pdf import render_pdf
        from .render import render_html

        doc = Doc.from_key(key)
        s = self.s
        t0 = time.perf_counter()
        html_path = s.output / f"{doc.stem}.html"
        pdf_path = s.output / f"{doc.stem}.pdf"
        try:
            if s.render_timeout:  # the whole document: context, Markdown, HTML and PDF
                _arm_alarm(s.render_timeout)
            context = build_context(doc, self.ds, self.figures, settings=self.render_settings())
            html = render_html(doc, context, self.env(doc.lang))
            attachments = self.attachments(doc)
            deps = html_dependencies(html, html_path)
            h = hashlib.sha256()
            for part in (html.encode(), dependencies_digest(deps, s.output).encode(), self.fingerprint.encode(),
                         s.pdf_variant.encode(), s.public_url.encode(), str(self.epoch).encode()):
                h.update(hashlib.sha256(part).digest())
            for name, data, _ in attachments:
                h.update(hashlib.sha256(name.encode() + b"\0" + data).digest())
            key_hash = h.hexdigest()
            title = _title_of(html)
            state = _read_state(s, doc)
            if (state and state.get("key") == key_hash and state.get("pdf") == _file_sig(pdf_path)
                    and state.get("html") == _file_sig(html_path)):
                return DocResult(key, "unchanged", time.perf_counter() - t0, state.get("pages", 0),
                                 state["pdf"][0], state["html"][0], title)
            atomic.write_if_changed(html_path, html)
            pdf = render_pdf(html_path, output_root=s.output, roots=self.roots, variant=s.pdf_variant,
                             public_url=s.public_url, attachments=attachments, epoch=self.epoch,
                             font_config=self.font_config, stylesheets=self.stylesheets)
            if s.render_timeout:
                _disarm_alarm()
                if _ALARM["fired"]:  # swallowed inside WeasyPrint: the PDF may lack a part
                    raise RenderTimeout()
            atomic.write_bytes(pdf_path, pdf.data)
            seconds = time.perf_counter() - t0
            atomic.write_text(doc_state_path(s, doc), _dump_json({
                "key": key_hash, "pdf": _file_sig(pdf_path), "html": _file_sig(html_path),
                "pages": pdf.pages, "title": title, "seconds": round(seconds, 3),
            }))
            return DocResult(key, "built", seconds, pdf.pages, len(pdf.data), len(html.encode()), title,
                             warnings=pdf.warnings)
        except BaseException as exc:  # noqa: BLE001 - one document's failure must not stop the others
            if s.render_timeout:
                _disarm_alarm()
            return self.failed(key, time.perf_counter() - t0, exc)
        finally:
            if s.render_timeout:
                _disarm_alarm()

    def failed(self, key: str, seconds: float, exc: BaseException) -> DocResult:
        """A document's failure, said so that the user can act; KeyboardInterrupt and SystemExit go on."""
        from weasyprint.urls import FatalURLFetchingError

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
        if not isinstance(exc, Exception):
            raise exc
        if s.render_memory_mb and _near_memory_cap(s.render_memory_mb):
            # Out of address space, C libraries fail in their own ways (SystemError, cairo errors…).
            return DocResult(key, "failed", seconds, error=memory.replace(
                " MiB;", f" MiB ({type(exc).__name__}: {exc});", 1))
        return DocResult(key, "failed", seconds,
                         error=f"internal error {type(exc).__name__}: {exc} (please report it)")

    def render_settings(self):
        from .context import RenderSettings

        return make_render_settings(RenderSettings, self.s, self.ds)


def make_render_settings(cls, s: Settings, ds):
    """Build context.RenderSettings from the build settings, passing only the fields it declares."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    values = {
        "data_date": s.data_date or ds.evaluation.published,
        "pdf_variant": s.pdf_variant,
        "public_url": s.public_url,
        "narrative_images": "assets/data/" if ds.assets_dir is not None else "",
    }
    return cls(**{k: v for k, v in values.items() if k in names})


def _title_of(html: str) -> str:
    import re
    from html import unescape

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


_WORKER: _Worker | None = None


# Address space set aside under the memory cap and given back when a document runs out of memory, so that its
# failure can still be sent to the parent (else the worker dies printing a traceback).
_RESERVE: bytearray | None = None
_RESERVE_BYTES = 16 * 1024 * 1024


def _init_worker(memory_mb: int) -> None:
    import resource

    global _RESERVE
    if memory_mb:
        _RESERVE = bytearray(_RESERVE_BYTES)
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
        return DocResult(key, "failed", error=f"needed more than render_memory_mb = {_WORKER.s.render_memory_mb} "
                                              "MiB; raise it in the config or reduce the publication's size")
    if result.status == "failed" and "render_memory_mb" in result.error:
        _RESERVE = None
    return result


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def stage_render(s: Settings, shard: int, *, jobs: int | None = None) -> list[DocResult]:
    """Render this shard's publications with a pool of warm forked workers; write the shard manifest."""
    global _WORKER
    from .pdf import harfbuzz_subset_available

    try:
        plan = json.loads(plan_path(s).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ReportgenError(f"no render plan at {plan_path(s)}; run the whole workflow (snakemake --cores all)") from None
    keys = [d["key"] for d in plan["documents"] if d["shard"] == shard]
    if not harfbuzz_subset_available():
        _log("warning: libharfbuzz-subset is not installed: WeasyPrint falls back to fontTools and renders about "
             "twice as slowly (apt-get install libharfbuzz-subset0)")
    import weasyprint  # noqa: F401 - paid once here, inherited by the forked workers

    _WORKER = _Worker(s, plan)
    # Started before the render pool (no thread exists yet to be copied by the fork).
    data_job = _DataJob(s, plan) if shard == 0 else None
    _WORKER.warm_up()
    jobs = max(1, min(jobs or available_cores(), len(keys) or 1))
    # Heaviest first, so the long documents start early and the pool ends together.
    weights = {}
    for k in keys:
        st = _read_state(s, Doc.from_key(k))
        weights[k] = float(st["seconds"]) if st and st.get("seconds") else KIND_WEIGHT[Doc.from_key(k).kind]
    keys.sort(key=lambda k: (-weights[k], k))
    results: list[DocResult] = []
    total = len(keys)
    t0 = time.perf_counter()

    def report(r: DocResult) -> None:
        results.append(r)
        extra = f"{r.pages} p., {r.seconds:.2f} s" if r.status != "failed" else r.error
        _log(f"[{len(results):>{len(str(total))}}/{total}] {r.status:<9} {r.key} ({extra})")

    # Always in forked workers, even one: the memory cap (RLIMIT_AS) applies to a worker, never to this process,
    # which must survive to report every document.
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

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

        def collect(fut, k: str) -> None:
            try:
                report(fut.result())
            except BrokenProcessPool:
                broken.append(k)
            except Exception as exc:  # noqa: BLE001 - raised in the worker outside a document
                report(DocResult(k, "failed", error=f"internal error {type(exc).__name__}: {exc} (please report it)"))

        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=_init_worker, initargs=(s.render_memory_mb,)) as pool:
            in_flight: dict = {}
            while (queue or in_flight) and not broken:
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
    _log(f"render job {shard}: {built} built, {total - built - len(failed)} unchanged, {len(failed)} failed "
         f"in {elapsed:.1f} s with {jobs} worker(s)")
    if failed or data_error:  # the job fails: no manifest of a previous build may say it is done
        shard_manifest(s, shard).unlink(missing_ok=True)
    if failed:
        atomic.write_text(s.state_dir / "shards" / f"{shard}.failed.json", _dump_json(manifest))
        for r in failed:
            _log(f"ERROR: {r.key}: {r.error}")
        raise ReportgenError(f"{len(failed)} publication(s) failed to render; the others were built. "
                             "Fix the problems above and run the build again."
                             + (f" The data files were not written either: {data_error}" if data_error else ""))
    if data_error:
        # Rendered documents are recorded (the summary counts them); the job fails so that the next build runs it.
        atomic.write_text(s.state_dir / "shards" / f"{shard}.failed.json",
                          _dump_json({**manifest, "data_error": data_error}))
        raise ReportgenError(f"the publications were rendered but the data files were not: {data_error}")
    try:
        (s.state_dir / "shards" / f"{shard}.failed.json").unlink()
    except FileNotFoundError:
        pass
    atomic.write_text(shard_manifest(s, shard), _dump_json(manifest))
    return results


# --------------------------------------------------------------------------------------------------------------
# Stage 3: index, clean-up, summary
# --------------------------------------------------------------------------------------------------------------

def _published_list(s: Settings) -> Path:
    return s.state_dir / "published.json"


def _previous_published(s: Settings) -> set[str]:
    try:
        return set(json.loads(_published_list(s).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()


def remove_stale(s: Settings, current: set[str]) -> list[str]:
    """Delete publications a previous build wrote that the data no longer calls for (a country removed)."""
    previous = _previous_published(s)
    languages = {k.split("/", 1)[0] for k in current}
    removed = []
    for key in sorted(k for k in previous - current if k.split("/", 1)[0] in languages):
        doc = Doc.from_key(key)
        for ext in (".html", ".pdf"):
            p = s.output / f"{doc.stem}{ext}"
            if p.is_file():
                p.unlink()
        try:
            doc_state_path(s, doc).unlink()
        except FileNotFoundError:
            pass
        removed.append(key)
    return removed


def collect_results(s: Settings, plan: dict) -> list[dict]:
    results = {}
    for shard in range(int(plan["shards"])):
        for name in (f"{shard}.json", f"{shard}.failed.json"):
            p = s.state_dir / "shards" / name
            try:
                for d in json.loads(p.read_text(encoding="utf-8"))["documents"]:
                    results[d["key"]] = d
            except (OSError, ValueError, KeyError):
                continue
    return [results[d["key"]] for d in plan["documents"] if d["key"] in results]


def remove_stale_temporary_files(s: Settings, before: float) -> list[str]:
    """Delete temporary files (``.name.XXXX.part``) of writes a killed build never finished.

    Called by the index stage: every other stage of this build is over and the workflow's lock keeps other builds
    of this output folder out, so a temporary file older than the stage's start belongs to no running write.
    """
    removed = []
    for p in sorted(s.output.rglob(".*.part")):
        try:
            if p.is_file() and p.stat().st_mtime < before:
                p.unlink()
                removed.append(p.relative_to(s.output).as_posix())
        except OSError:
            continue
    return removed


def _previous_languages(s: Settings) -> set[str]:
    return {k.split("/", 1)[0] for k in _previous_published(s)}


def prune_chart_store(folder: Path, before: float) -> int:
    """Delete stored charts no document of this build used (pandas-free: the index stage does not load the model)."""
    removed = 0
    for p in folder.glob("*/*.svg") if folder.is_dir() else []:
        try:
            if p.stat().st_mtime < before:
                p.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def stage_index(s: Settings) -> dict:
    """Write the catalogue (index.html), remove stale publications, record the summary."""
    from .catalog import write_index

    remove_stale_temporary_files(s, time.time())
    plan = json.loads(plan_path(s).read_text(encoding="utf-8"))
    if set(plan["languages"]) >= set(_previous_languages(s)):
        # Every publication's context was made by this build (unchanged ones too): a chart it did not use is stale.
        prune_chart_store(chart_store(s), float(plan["started"]))
    current = {d["key"] for d in plan["documents"]}
    removed = remove_stale(s, current)
    results = collect_results(s, plan)
    write_index(s, plan, results)
    # Publications of languages this build left out (config `languages`) stay published and listed.
    kept = {k for k in _previous_published(s) if k.split("/", 1)[0] not in plan["languages"]}
    atomic.write_text(_published_list(s), _dump_json(sorted(current | kept)))
    summary = summarize(s, plan, results, removed)
    atomic.write_text(s.state_dir / "summary.json", _dump_json(summary))
    return summary


def summarize(s: Settings, plan: dict, results: list[dict], removed: list[str]) -> dict:
    counts = {k: sum(r["status"] == k for r in results) for k in ("built", "unchanged", "failed")}
    return {
        "documents": len(plan["documents"]),
        **counts,
        "removed": removed,
        "seconds": round(time.time() - float(plan.get("started", time.time())), 1),
        "failed_documents": [{"key": r["key"], "error": r["error"]} for r in results if r["status"] == "failed"],
    }


RUN_STARTED_ENV = "REPORTGEN_RUN_STARTED"


def run_started() -> float | None:
    """When the workflow run started, as the Snakefile tells its jobs (``REPORTGEN_RUN_STARTED``), else None."""
    try:
        return float(os.environ[RUN_STARTED_ENV])
    except (KeyError, ValueError):
        return None


def print_summary(s: Settings, *, since: float | None = None) -> int:
    """Print the last build's summary (also after a failed build); return 1 when anything failed.

    ``since``: when the workflow run started (the Snakefile passes it). A run in which no stage ran says that the
    publications are up to date, and a run's time is counted from ``since`` rather than from its plan.
    """
    marker = s.state_dir / "validation-failed"
    if marker.is_file():
        _log(f"reportgen: the dataset has {marker.read_text().strip()} error(s): nothing was built and the "
             f"publications in {s.output} are unchanged; see {s.output / 'validation.html'}")
        return 1
    try:
        plan = json.loads(plan_path(s).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    results = collect_results(s, plan)
    summary = summarize(s, plan, results, [])
    data_errors = _data_errors(s, plan)
    if since is not None and not data_errors and _nothing_ran_since(s, plan, since):
        _log(f"reportgen: nothing to do: the {summary['documents']} publications in {s.output} are up to date")
        return 0
    seconds = round(time.time() - since, 1) if since is not None else summary["seconds"]
    missing = summary["documents"] - len(results)
    line = (f"reportgen: {summary['built']} built, {summary['unchanged']} unchanged, {summary['failed']} failed"
            + (f", {missing} not rendered" if missing else "") + f" of {summary['documents']} publications"
            f" in {seconds} s → {s.output}")
    _log(line)
    for f in summary["failed_documents"]:
        _log(f"  failed: {f['key']}: {f['error']}")
    for e in data_errors:
        _log(f"  data files not written: {e}")
    return 1 if summary["failed"] or missing or data_errors else 0


def _data_errors(s: Settings, plan: dict) -> list[str]:
    out = []
    for shard in range(int(plan["shards"])):
        try:
            manifest = json.loads((s.state_dir / "shards" / f"{shard}.failed.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("data_error"):
            out.append(str(manifest["data_error"]))
    return out


def _nothing_ran_since(s: Settings, plan: dict, since: float) -> bool:
    """No stage of this output folder wrote its result since ``since`` (Snakemake found everything up to date)."""
    stamps = [plan_path(s), s.state_dir / "index.done",
              *(shard_manifest(s, i) for i in range(int(plan["shards"])))]
    return all(p.stat().st_mtime < since for p in stamps if p.exists())
