"""Every object and stream of every published PDF is scanned (docs/security.md, "PDF").

Two full builds of the tiny dataset: PDF/UA-1 in both languages, and PDF/A-3u (French) whose publications carry
their own data as attached CSV files. In every PDF: no JavaScript, no open action, no additional actions, no launch,
form submission or data import, no rich media, no embedded file other than the publication's declared data (PDF/A-3u:
CSV files named after its data tables, byte-identical to the published CSV of the synthesis), no link to ``file:``
or other schemes, the build machine's folders nowhere (raw bytes, decoded streams, text strings), every font
embedded, and the document tagged with its language.

``test_the_scanner_finds_what_it_looks_for`` plants each forbidden thing in a PDF and checks the scanner reports it,
so a scan that finds nothing means nothing is there.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from datasets import TINY_DATASET, write_dataset
from pikepdf import Array, Dictionary, Name, Stream, String

from reportgen import build
from reportgen.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("security-pdf-scan")]

FORBIDDEN_KEYS = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/Launch", "/SubmitForm", "/ImportData",
                  "/RichMedia", "/RichMediaContent", "/XFA", "/EmbeddedFiles", "/EF", "/GoToR", "/GoToE"}
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/RichMediaExecute",
                     "/GoToR", "/GoToE", "/Rendition", "/Sound", "/Movie", "/Hide", "/SetOCGState"}
LINK_SCHEMES = ("http://", "https://", "mailto:")


def _walk(obj, seen: set, path: str = ""):
    """Every (path, object) reachable from ``obj``, each indirect object once."""
    if isinstance(obj, (Dictionary, Stream, Array)):
        og = obj.objgen if obj.is_indirect else None
        if og is not None and og != (0, 0):
            if og in seen:
                return
            seen.add(og)
    yield path, obj
    if isinstance(obj, (Dictionary, Stream)):
        for key in list(obj.keys()):
            if key == "/Parent":
                continue
            yield from _walk(obj.get(key), seen, f"{path}{key}")
    elif isinstance(obj, Array):
        for i, item in enumerate(obj):
            yield from _walk(item, seen, f"{path}[{i}]")


def scan(data: bytes, *, lang: str, forbidden_text: list[str], allowed_attachments: set[str]) -> list[str]:
    """What is wrong with a PDF (empty when nothing)."""
    problems: list[str] = []
    for needle in forbidden_text:
        for encoded in (needle.encode(), needle.encode("utf-16-be")):
            if encoded in data:
                problems.append(f"raw bytes contain {needle!r}")
    pdf = pikepdf.open(io.BytesIO(data))
    root = pdf.Root
    seen: set = set()
    objects = [("/Root", root), ("/Info", pdf.trailer.get("/Info"))]
    objects += [(f"obj{o.objgen}", o) for o in pdf.objects if isinstance(o, (Dictionary, Stream, Array))]
    for start, top in objects:
        if top is None:
            continue
        for path, obj in _walk(top, seen, start):
            if isinstance(obj, (Dictionary, Stream)):
                keys = set(obj.keys())
                for key in keys & FORBIDDEN_KEYS:
                    if key in ("/EF", "/EmbeddedFiles") and allowed_attachments:
                        continue  # judged below, by name
                    problems.append(f"{path}: forbidden key {key}")
                action = obj.get("/S")
                if action is not None and str(action) in FORBIDDEN_ACTIONS:
                    problems.append(f"{path}: forbidden action {action}")
                if obj.get("/Type") == Name.EmbeddedFile and not allowed_attachments:
                    problems.append(f"{path}: embedded file")
                if "/URI" in keys:
                    uri = str(obj.get("/URI"))
                    if not uri.startswith(LINK_SCHEMES):
                        problems.append(f"{path}: link to {uri!r}")
                if obj.get("/Type") == Name.Font:
                    problems += _font_problems(path, obj)
            if isinstance(obj, Stream):
                try:
                    content = obj.read_bytes()
                except pikepdf.PdfError:
                    content = obj.read_raw_bytes()
                for needle in forbidden_text:
                    if needle.encode() in content or needle.encode("utf-16-be") in content:
                        problems.append(f"{path}: stream contains {needle!r}")
            if isinstance(obj, String):
                text = str(obj)
                for needle in forbidden_text:
                    if needle in text:
                        problems.append(f"{path}: string contains {needle!r}")
                if text.lower().startswith(("file:", "javascript:")):
                    problems.append(f"{path}: string {text[:60]!r}")
    names = set(pdf.attachments.keys())
    if names - allowed_attachments:
        problems.append(f"unexpected attachments {sorted(names - allowed_attachments)}")
    # Tagged, with its language.
    mark = root.get("/MarkInfo")
    if mark is None or not bool(mark.get("/Marked", False)):
        problems.append("not marked as tagged (/MarkInfo /Marked true)")
    if "/StructTreeRoot" not in root:
        problems.append("no /StructTreeRoot")
    if str(root.get("/Lang", "")) != lang:
        problems.append(f"/Lang is {root.get('/Lang')!r}, expected {lang!r}")
    return problems


def _font_problems(path: str, font: Dictionary) -> list[str]:
    subtype = font.get("/Subtype")
    if subtype == Name.Type3:
        return []
    if subtype == Name.Type0:
        return [p for d in font.get("/DescendantFonts", []) for p in _font_problems(f"{path}/Descendant", d)]
    descriptor = font.get("/FontDescriptor")
    if descriptor is None or not ({"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys())):
        return [f"{path}: font {font.get('/BaseFont')} is not embedded"]
    return []


# ------------------------------------------------------------------------------------------------------------------
# Builds
# ------------------------------------------------------------------------------------------------------------------

def _build(base: Path, **config) -> Settings:
    data = base / "data"
    if not data.exists():
        write_dataset(data, dict(TINY_DATASET))
    s = Settings.from_mapping({"data": str(data), "output": str(base / config.pop("out", "out")), **config})
    build.stage_prepare(s, quiet=True)  # validates first
    build.stage_render(s, 0, jobs=2)
    build.stage_index(s)
    return s


@pytest.fixture(scope="module")
def ua(tmp_path_factory):
    base = tmp_path_factory.mktemp("scan-ua")
    return base, _build(base)


@pytest.fixture(scope="module")
def pdfa(tmp_path_factory):
    base = tmp_path_factory.mktemp("scan-pdfa")
    return base, _build(base, pdf_variant="pdf/a-3u", languages=["fr"])


def _pdfs(s: Settings) -> list[Path]:
    return sorted(p for p in s.output.rglob("*.pdf") if ".reportgen" not in p.parts)


def _forbidden(base: Path, s: Settings) -> list[str]:
    return [str(base.resolve()), str(s.output.resolve()), str(s.data.resolve()), "/tmp/pytest-of-",
            str(Path.home()) + "/", "file://"]


def test_every_pdf_of_a_full_build_is_clean(ua):
    base, s = ua
    pdfs = _pdfs(s)
    assert len(pdfs) == 2 * (1 + 3 + 5)
    report = {}
    for path in pdfs:
        lang = path.relative_to(s.output).parts[0]
        problems = scan(path.read_bytes(), lang=lang, forbidden_text=_forbidden(base, s), allowed_attachments=set())
        if problems:
            report[path.relative_to(s.output).as_posix()] = problems[:10]
    assert report == {}


def test_pdfa_publications_carry_only_their_declared_data(pdfa):
    base, s = pdfa
    tables = {p.stem for p in (s.output / "data").glob("*.csv")}
    pdfs = _pdfs(s)
    assert len(pdfs) == 1 + 3 + 5
    report = {}
    for path in pdfs:
        pdf = pikepdf.open(path)
        names = set(pdf.attachments.keys())
        allowed = {f"{t}.csv" for t in tables}
        assert names and names <= allowed, (path, names - allowed)
        for name, spec in pdf.attachments.items():
            f = spec.get_file()
            assert f.mime_type in ("text/csv", "")
            assert spec.obj.get("/AFRelationship") == Name.Data
        if path.name == "synthesis.pdf":
            for name, spec in pdf.attachments.items():
                assert spec.get_file().read_bytes() == (s.output / "data" / name).read_bytes(), name
        problems = scan(path.read_bytes(), lang="fr", forbidden_text=_forbidden(base, s), allowed_attachments=allowed)
        if problems:
            report[path.relative_to(s.output).as_posix()] = problems[:10]
    assert report == {}


# ------------------------------------------------------------------------------------------------------------------
# The scanner finds what it looks for
# ------------------------------------------------------------------------------------------------------------------

def _planted(what: str, clean: bytes, secret: str) -> bytes:
    pdf = pikepdf.open(io.BytesIO(clean))
    page = pdf.pages[0]
    if what == "javascript open action":
        pdf.Root.OpenAction = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))
    elif what == "page additional action":
        page.obj.AA = Dictionary(O=Dictionary(S=Name.Launch, F=String("calc.exe")))
    elif what == "file link":
        annot = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 10, 10],
                                             A=Dictionary(S=Name.URI, URI=String(f"file://{secret}/x.html"))))
        page.obj.Annots = Array([*page.obj.get("/Annots", []), annot])
    elif what == "attachment":
        pdf.attachments["evil.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ", mime_type="application/octet-stream")
    elif what == "path in a stream":
        page.contents_add(pdf.make_stream(f"% built in {secret}\n".encode()))
    elif what == "unembedded font":
        font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name.Arial,
                                            FontDescriptor=Dictionary(Type=Name.FontDescriptor,
                                                                      FontName=Name.Arial)))
        page.obj.Resources.Font.Planted = font
    elif what == "untagged":
        del pdf.Root["/StructTreeRoot"]
        pdf.Root.Lang = String("de")
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


@pytest.mark.parametrize("what", ["javascript open action", "page additional action", "file link", "attachment",
                                  "path in a stream", "unembedded font", "untagged"])
def test_the_scanner_finds_what_it_looks_for(ua, what):
    base, s = ua
    clean = (s.output / "fr" / "countries" / "CHN.pdf").read_bytes()
    forbidden = _forbidden(base, s)
    assert scan(clean, lang="fr", forbidden_text=forbidden, allowed_attachments=set()) == []
    planted = _planted(what, clean, str(s.output.resolve()))
    assert scan(planted, lang="fr", forbidden_text=forbidden, allowed_attachments=set()), what
