"""The catalogue of publications: ``{output}/index.html``.

Lists every publication (title, language, kind, pages, size, links to its PDF and HTML) and the data files, with
relative links only, so it works opened from disk and from any static web server. Rendered by the one Jinja
environment (``templates/index.html.j2``) in the evaluation's main language.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import atomic
from .model import Doc
from .settings import Settings


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def catalog_context(s: Settings, plan: dict, results: list[dict], ds=None) -> dict:
    """What index.html.j2 receives; documented in docs/templates.md."""
    by_key = {r["key"]: r for r in results}
    state_dir = s.state_dir / "docs"
    groups = []
    for lang in plan["languages"]:
        entries = {"synthesis": [], "region": [], "country": []}
        for d in plan["documents"]:
            doc = Doc.from_key(d["key"])
            if doc.lang != lang:
                continue
            r = by_key.get(doc.key, {})
            try:
                st = json.loads((state_dir / f"{doc.stem}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                st = {}
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
    return {
        "groups": groups,
        "data_files": data_files,
        "validation_href": "validation.html" if (s.output / "validation.html").is_file() else "",
        "changes_href": "changes.html" if (s.output / "changes.html").is_file() else "",
    }


def write_index(s: Settings, plan: dict, results: list[dict]) -> Path:
    import pickle

    from .build import model_pickle, template_dirs
    from .render import make_environment, render_index

    ds, _figures = pickle.loads(model_pickle(s).read_bytes())
    lang = ds.evaluation.languages[0]
    env = make_environment(lang, template_dirs=template_dirs(s))
    html = render_index(catalog_context(s, plan, results, ds), ds, env)
    path = s.output / "index.html"
    atomic.write_if_changed(path, html)
    return path
