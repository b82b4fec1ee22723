"""The site's index pages: one per language, and the page that chooses the language.

- ``{output}/{lang}/index.html`` (``templates/index.html.j2``), in that language: the publications of that language
  (title, kind, pages, size, links to its PDF and HTML) and the data files; a link to the same page in the other
  languages, as every publication has.
- ``{output}/index.html`` (``templates/languages.html.j2``), in the evaluation's main language: the evaluation's
  title in each language, each marked with its language, linking that language's index.

Relative links only, so the site works opened from disk and from any static web server. Every page is rendered by
the one Jinja environment. The review pages (``validation.html``, ``changes.html``) are for the evaluation team:
no public page links them.

The index stage needs little of the dataset (the evaluation's description, region and country names): ``prepare``
writes that to ``.reportgen/catalog.pickle``, so this stage (and ``reportgen summary``) never imports pandas.
"""

from __future__ import annotations

from pathlib import Path

from . import atomic, state
from .i18n import collation_key, gettext_for, language_name
from .model import LANGUAGES, Doc, notice_of
from .render import KIND_TEMPLATE, make_environment, render_template

#: The template of ``{output}/index.html``, the page that chooses the language.
LANGUAGES_TEMPLATE = "languages.html.j2"
from .settings import Settings, template_dirs
from .typography import Verbatim


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def catalog_context(s: Settings, plan: dict, results: list[dict]) -> dict:
    """What index.html.j2 receives; documented in docs/templates.md."""
    by_key = {r["key"]: r for r in results}
    groups = []
    for lang in plan["languages"]:
        entries = {"synthesis": [], "region": [], "country": []}
        for d in plan["documents"]:
            doc = Doc.from_key(d["key"])
            if doc.lang != lang:
                continue
            r = by_key.get(doc.key, {})
            st = state.read_doc_state(s.output, doc) or {}
            pdf = s.output / f"{doc.stem}.pdf"
            entries[doc.kind].append({
                "key": doc.key, "kind": doc.kind, "code": doc.code or "", "lang": lang,
                "title": r.get("title") or st.get("title") or doc.key,
                "pages": r.get("pages") or st.get("pages") or 0,
                "pdf_href": f"{doc.stem}.pdf", "html_href": f"{doc.stem}.html",
                "pdf_bytes": _size(pdf), "available": pdf.is_file(),
                "status": r.get("status", ""),
            })
        groups.append({"lang": lang, "synthesis": entries["synthesis"], "regions": entries["region"],
                       "countries": entries["country"]})
    data_dir = s.output / "data"
    data_files = [{"name": p.name, "href": f"data/{p.name}", "bytes": _size(p)}
                  for p in sorted(data_dir.glob("*")) if p.is_file() and not p.name.startswith(".")]
    return {"groups": groups, "data_files": data_files}


def catalog_names(ds) -> dict[str, dict[str, dict[str, str]]]:
    """Region and country names per language: ``{"region": {lang: {code: name}}, "country": {…}}``."""
    out: dict[str, dict[str, dict[str, str]]] = {"region": {}, "country": {}}
    for kind, frame in (("region", ds.regions), ("country", ds.countries)):
        for lang in ds.evaluation.languages:
            col = f"name_{lang}"
            if frame is not None and col in frame.columns:
                out[kind][lang] = dict(zip(frame[kind].astype(str), frame[col].astype(str)))
    return out


def write_catalog_data(s: Settings, ds) -> None:
    """What the index stage needs of the dataset (written by ``prepare``)."""
    state.write_pickle(state.catalog_path(s.output), (ds.evaluation, catalog_names(ds)))


def index_context(catalog: dict, evaluation, names: dict, *, lang: str | None = None, data_date: str = "",
                  public_url: str = "") -> dict:
    """The context of ``index.html.j2``, the index of the publications in ``lang`` (``{output}/{lang}/index.html``).

    ``catalog`` (from :func:`catalog_context`): ``groups`` (one per language: ``lang``, ``synthesis``, ``regions``,
    ``countries``: lists of entries with ``key, kind, code, lang, title, pages, pdf_href, html_href, pdf_bytes,
    available``; hrefs relative to the output folder) and ``data_files`` (``name, href, bytes``). The page lists the
    group of ``lang``; each entry gets a ``name``: the region's or country's name in that language (``names``, from
    :func:`catalog_names`), or the title of the synthesis. Links are relative to ``{output}/{lang}/``.
    """
    ev = evaluation
    lang = lang or ev.languages[0]
    _ = gettext_for(lang)
    prefix = f"{lang}/"

    def local(href: str) -> Verbatim:
        return Verbatim(href[len(prefix):] if href.startswith(prefix) else "../" + href)

    groups = []
    for g in catalog.get("groups", []):
        glang = g["lang"]
        if glang != lang:
            continue
        region_names = names.get("region", {}).get(glang, {})
        country_names = names.get("country", {}).get(glang, {})

        def named(entries, by_code):
            out = []
            for e in entries:
                e = dict(e)
                e["name"] = by_code.get(e.get("code") or "", "") or e.get("title") or e.get("key", "")
                e["pdf_href"] = local(e.get("pdf_href", ""))
                e["html_href"] = local(e.get("html_href", ""))
                e.setdefault("pages", 0)
                e.setdefault("pdf_bytes", 0)
                e.setdefault("available", True)
                out.append(e)
            return out

        synthesis = named(g.get("synthesis", []), {})
        for e in synthesis:
            e["name"] = ev.title.get(glang) or e["name"]
        groups.append({
            "lang": glang,
            "label": language_name(glang),
            "synthesis": synthesis,
            "regions": sorted(named(g.get("regions", []), region_names), key=lambda e: collation_key(e["name"])),
            "countries": sorted(named(g.get("countries", []), country_names),
                                key=lambda e: collation_key(e["name"])),
        })
    data_files = [{**d, "href": local(d["href"])} for d in catalog.get("data_files", [])]
    other = [{"lang": o, "label": language_name(o), "href": Verbatim(f"../{o}/index.html")}
             for o in ev.languages if o != lang and any(g["lang"] == o for g in catalog.get("groups", []))]
    context = _page_context(ev, lang, data_date=data_date, public_url=public_url, root="../")
    context.update({
        "links": {"index": Verbatim("index.html"), "synthesis": Verbatim("synthesis.html"),
                  "workbook": Verbatim("../data/figures.xlsx"), "data": Verbatim("#data"), "languages": other},
        "groups": groups,
        "data_files": data_files,
    })
    return context


def _page_context(ev, lang: str, *, data_date: str, public_url: str, root: str) -> dict:
    """What every page of the site needs (base.html.j2, the header and footer partials)."""
    _ = gettext_for(lang)
    return {
        "lang": lang,
        "kind": "index",
        "code": "",
        "data_lang": ev.languages[0],
        "currency": ev.currency,
        "root": Verbatim(root),
        "stylesheet": Verbatim(f"{root}assets/css/index.css"),
        "series": _("Evaluation no. %(number)s") % {"number": ev.id},
        "doc_title": ev.title.get(lang, ""),
        "running_title": ev.title.get(lang, ""),
        "description": _("Publications and data of evaluation no. %(number)s: %(title)s") % {
            "number": ev.id, "title": ev.title.get(lang, "")},
        "evaluation": {
            "id": ev.id, "title": ev.title.get(lang, ""), "subtitle": (ev.subtitle or {}).get(lang, ""),
            "commissioner": ev.commissioner.get(lang, ""), "evaluator": ev.evaluator, "published": ev.published,
            "period_start": int(ev.period_start), "period_end": int(ev.period_end), "languages": list(ev.languages),
        },
        "data_date": data_date or ev.published,
        "public_url": Verbatim(public_url),
        "notice": notice_of(ev, lang),
    }


def languages_context(catalog: dict, evaluation, *, data_date: str = "", public_url: str = "") -> dict:
    """The context of ``languages.html.j2`` (``{output}/index.html``), in the evaluation's main language: one entry
    per language published (``lang, label`` (the language's name in itself), ``title``, ``series``, ``href``)."""
    ev = evaluation
    lang = ev.languages[0]
    published = [g["lang"] for g in catalog.get("groups", [])]
    entries = []
    for glang in [code for code in ev.languages if code in published]:
        _ = gettext_for(glang)
        entries.append({"lang": glang, "label": language_name(glang), "title": ev.title.get(glang, ""),
                        "series": _("Evaluation no. %(number)s") % {"number": ev.id},
                        "href": Verbatim(f"{glang}/index.html")})
    context = _page_context(ev, lang, data_date=data_date, public_url=public_url, root="")
    context.update({
        "kind": "languages",
        "links": {"index": Verbatim("index.html"), "synthesis": Verbatim(f"{lang}/synthesis.html"),
                  "workbook": Verbatim("data/figures.xlsx"), "data": Verbatim(f"{lang}/index.html#data"),
                  "languages": []},
        "entries": entries,
    })
    return context


def render_index(catalog: dict, evaluation, names: dict, env, *, data_date: str = "", public_url: str = "") -> str:
    """The index page of the environment's language (``{output}/{lang}/index.html``).

    ``catalog`` is what :func:`catalog_context` gathers (groups of entries per language, data files); ``evaluation``
    and ``names`` (:func:`catalog_names`) are what it needs of the dataset; :func:`index_context` adds what every
    page needs (see docs/templates.md).
    """
    context = index_context(catalog, evaluation, names, lang=env.globals["publication_lang"], data_date=data_date,
                            public_url=public_url)
    return render_template(env.get_template(KIND_TEMPLATE["index"]), context, what="index.html")


def render_languages(catalog: dict, evaluation, env, *, data_date: str = "", public_url: str = "") -> str:
    """``{output}/index.html``: the language chooser, in the environment's language (the evaluation's main one)."""
    context = languages_context(catalog, evaluation, data_date=data_date, public_url=public_url)
    return render_template(env.get_template(LANGUAGES_TEMPLATE), context, what="index.html")


def write_index(s: Settings, plan: dict, results: list[dict]) -> Path:
    """Write ``{output}/{lang}/index.html`` for every language published and ``{output}/index.html``; return the
    latter."""
    evaluation, names = state.read_pickle(state.catalog_path(s.output), "index data")
    dirs = template_dirs(s.templates)
    catalog = catalog_context(s, plan, results)
    # The output is what a clean build of the plan's languages writes: no index of another language.
    for lang in plan["languages"]:
        html = render_index(catalog, evaluation, names, make_environment(lang, template_dirs=dirs),
                            data_date=s.data_date or "", public_url=s.public_url or "")
        atomic.write_if_changed(s.output / lang / "index.html", html)
    for lang in LANGUAGES:
        if lang not in plan["languages"]:
            (s.output / lang / "index.html").unlink(missing_ok=True)
    main = evaluation.languages[0]
    catalog = {**catalog, "groups": [{"lang": code} for code in evaluation.languages if code in plan["languages"]]}
    html = render_languages(catalog, evaluation, make_environment(main, template_dirs=dirs),
                            data_date=s.data_date or "", public_url=s.public_url or "")
    path = s.output / "index.html"
    atomic.write_if_changed(path, html)
    return path
