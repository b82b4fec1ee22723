"""An unchanged publication's HTML is taken from its published file, not rendered again (reportgen.worker.Worker.
html_inputs / published_html): only when its context, reportgen's code and every template and catalog file are
the ones it was made from, and the published file is the one its state describes."""

from __future__ import annotations

import dataclasses
import os

import pytest
from markupsafe import Markup

from reportgen import worker as worker_module
from reportgen.context import context_digest
from reportgen.model import Doc
from reportgen.typography import Verbatim


def test_a_context_digest_tells_values_types_and_order_apart():
    base = {"a": "x", "b": [1, 2.0, None, True], "c": {"d": "y"}}
    same = {"a": "x", "b": [1, 2.0, None, True], "c": {"d": "y"}}
    assert context_digest(base) == context_digest(same)
    others = [
        {"a": Markup("x"), "b": [1, 2.0, None, True], "c": {"d": "y"}},  # printed unescaped
        {"a": Verbatim("x"), "b": [1, 2.0, None, True], "c": {"d": "y"}},  # printed without typography
        {"a": "x", "b": [1.0, 2.0, None, True], "c": {"d": "y"}},  # 1 and 1.0 print differently
        {"a": "x", "b": [1, 2.0, None, 1], "c": {"d": "y"}},  # True and 1 too
        {"a": "x", "b": [2.0, 1, None, True], "c": {"d": "y"}},  # order
        {"b": [1, 2.0, None, True], "a": "x", "c": {"d": "y"}},  # a dict's order is the loop's order
        {"a": "x", "b": [1, 2.0, None, True], "c": {"d": "y", "e": ""}},
        {"a": "xb", "b": [1, 2.0, None, True], "c": {"d": "y"}},
        {"a": "x", "b": [1, 2.0, None, True], "c": ({"d": "y"},)},
    ]
    digests = {context_digest(o) for o in others}
    assert None not in digests and len(digests) == len(others) and context_digest(base) not in digests
    # Strings that would run together without their lengths.
    assert context_digest(["ab", "c"]) != context_digest(["a", "bc"])
    assert context_digest({"a": object()}) is None  # nothing assumed of a value it cannot state


@pytest.mark.slow
@pytest.mark.xdist_group("build-stages")
def test_an_unchanged_publication_takes_its_published_html_and_anything_it_was_made_from_renders_it(
        tiny_prepared_copy, tmp_path, monkeypatch):
    s, plan = tiny_prepared_copy
    override = tmp_path / "override"
    override.mkdir()
    (override / "notes.txt").write_text("not a template\n", encoding="utf-8")
    s = dataclasses.replace(s, templates=override)
    key = next(d["key"] for d in plan["documents"] if d["key"].startswith("fr/countries/"))
    doc = Doc.from_key(key)
    w = worker_module.Worker(s, plan)
    assert w.render(key).status == "built"
    first = w.page(doc)
    assert first.prekey is not None

    rendered: list[str] = []
    real = worker_module.render_html
    monkeypatch.setattr(worker_module, "render_html", lambda d, *a, **k: rendered.append(d.key) or real(d, *a, **k))

    again = w.page(doc)
    assert rendered == [] and (again.html, again.key, again.prekey) == (first.html, first.key, first.prekey)
    assert w.render(key).status == "unchanged" and rendered == []

    # A template folder's file saved (same content, a new time): rendered, to the same HTML.
    notes = override / "notes.txt"
    st = notes.stat()
    os.utime(notes, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    touched = w.page(doc)
    assert rendered == [key] and (touched.html, touched.key) == (first.html, first.key)
    assert touched.prekey != first.prekey
    # The render found it unchanged and recorded what it was made from: the next check takes the file again.
    assert w.render(key).status == "unchanged" and rendered == [key, key]
    assert w.page(doc).html == first.html and rendered == [key, key]

    # The published HTML is not the one the state describes (edited by hand): rendered, and the key says so.
    html_path = s.output / f"{doc.stem}.html"
    html_path.write_text(first.html.replace("</body>", "<!-- edited --></body>"), encoding="utf-8")
    edited = w.page(doc)
    assert rendered == [key] * 3 and edited.html == first.html and edited.key == first.key
    assert w.render(key).status == "built"  # its files were not the ones of its key: rendered again
    assert rendered == [key] * 4

    # The published HTML is the state's file but not the HTML the render gave (a stranded last page made it publish
    # a tighter version, reportgen.layout.Fitter): rendered, never taken for the rendered HTML.
    assert w.render(key).status == "unchanged" and rendered == [key] * 4  # taken from its file
    import json

    from reportgen import state

    fitted = first.html.replace("<body", '<body data-fitted=""', 1)
    assert fitted != first.html
    html_path.write_text(fitted, encoding="utf-8")
    doc_state = state.doc_state_path(s.output, doc)
    recorded = json.loads(doc_state.read_text(encoding="utf-8"))
    doc_state.write_text(json.dumps({**recorded, "html": state.file_signature(html_path)}), encoding="utf-8")
    as_fitted = w.page(doc)
    assert rendered == [key] * 5 and as_fitted.html == first.html and as_fitted.key == first.key
    assert w.render(key).status == "unchanged" and html_path.read_text(encoding="utf-8") == fitted
    assert rendered == [key] * 6

    # Another context (the data date the publication prints): rendered.
    w.s = dataclasses.replace(w.s, data_date="2031-01-15")
    dated = w.page(doc)
    assert rendered == [key] * 7 and dated.prekey != first.prekey and dated.html != first.html
