"""Narrative Markdown from the dataset, rendered to safe HTML.

The dataset is untrusted (``docs/security.md``), so its Markdown can format text and nothing more:

- CommonMark (markdown-it-py) plus tables; raw HTML is not parsed, it prints as text (``<script>`` shows as
  ``&lt;script&gt;``); no linkify, no typographer;
- links only to ``http://``, ``https://`` and ``mailto:`` URLs, with ``rel="noopener noreferrer"``; any other link
  (``javascript:``, ``data:``, ``file:``, ``vbscript:``, relative paths, anchors) is dropped and its text kept;
- images are replaced by their alt text, unless the caller passes ``resolve_asset`` and the image is a plain
  ``assets/…`` path to a PNG, JPEG or SVG file (no ``..``, no scheme, no query): then ``resolve_asset(path)`` says
  which URL to use, or ``None`` to refuse it (alt text again);
- headings start at ``<h3>`` (``#`` → h3, ``##`` → h4…, capped at h6): the publication owns h1 and h2;
- table cell alignment is a class (``align-left``, ``align-center``, ``align-right``), not a ``style`` attribute;
- footnotes (``text[^1]`` and ``[^1]: note``, mdit-py-plugins' footnote plugin): on screen, numbered notes after
  the text, linked both ways (call → note, note → call); in print (the PDF), each note's text also sits in a
  ``<span class="footnote">`` right after its call, which the print stylesheet floats to the foot of the page
  (``float: footnote``), so the note is on the page of its call. Note ids start with a hash of the text, so two
  narratives on one page never share one;
- French typography (:func:`reportgen.typography.french_html`) when ``lang == "fr"``.

The result is :class:`markupsafe.Markup`: a template prints it as it is. It is never compiled as a template, so
``{{ 7*7 }}`` in the data prints ``{{ 7*7 }}``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup, escape
from mdit_py_plugins.footnote import footnote_plugin

from .assets import IMAGE_PATH
from .i18n import gettext_for
from .typography import french_html

ResolveAsset = Callable[[str], "str | None"]

_ALLOWED_HREF = re.compile(r"(?:https?://|mailto:)[^\s\x00-\x1f\x7f]*", re.I)
_ALIGN = re.compile(r"text-align:\s*(left|center|right)")


def _plain_text(tokens: list[Token] | None) -> str:
    out = []
    for t in tokens or []:
        if t.type in ("text", "code_inline"):
            out.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.children:
            out.append(_plain_text(t.children))
    return "".join(out)


def _is_asset_path(src: str) -> bool:
    return bool(IMAGE_PATH.fullmatch(src)) and ".." not in src.split("/")


def _safe_inline(children: list[Token], resolve_asset: ResolveAsset | None) -> list[Token]:
    out: list[Token] = []
    dropping_link = False
    for t in children:
        if t.type == "link_open":
            href = t.attrGet("href") or ""
            if _ALLOWED_HREF.fullmatch(str(href)):
                t.attrSet("rel", "noopener noreferrer")
                out.append(t)
            else:
                dropping_link = True  # keep the text, lose the link
            continue
        if t.type == "link_close":
            if dropping_link:
                dropping_link = False
            else:
                out.append(t)
            continue
        if t.type == "image":
            src = str(t.attrGet("src") or "")
            url = resolve_asset(src) if resolve_asset is not None and _is_asset_path(src) else None
            if isinstance(url, str) and url:
                t.attrSet("src", url)
                out.append(t)
            else:
                text = Token("text", "", 0)
                text.content = _plain_text(t.children) or t.content
                out.append(text)
            continue
        out.append(t)
    return out


def _safety_rule(state: StateCore) -> None:
    resolve_asset = state.env.get("resolve_asset") if isinstance(state.env, dict) else None
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _safe_inline(token.children, resolve_asset)
        elif token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        elif token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            m = _ALIGN.search(str(style or ""))
            if m:
                token.attrSet("class", f"align-{m.group(1)}")


def _note_id(tokens, idx: int, env) -> str:
    ident = f"-{env['docId']}-{tokens[idx].meta['id'] + 1}"
    sub = tokens[idx].meta.get("subId", -1)
    return ident + (f"-{sub}" if sub and sub > 0 else "")


def _footnote_ref(self, tokens, idx, options, env) -> str:
    n = tokens[idx].meta["id"] + 1
    ident = _note_id(tokens, idx, env)
    base = f"-{env['docId']}-{n}"
    _ = env["_"]  # the page's gettext (named _ so that babel.cfg's extraction finds the message)
    label = escape(_("Note %(number)s") % {"number": n})
    call = (f'<sup class="footnote-ref"><a href="#fn{base}" id="fnref{ident}" aria-label="{label}">{n}</a></sup>')
    # The note itself, for print, after its first call (filled in by render_markdown).
    return call + (f"<!--footnote{base}-->" if tokens[idx].meta.get("subId", 0) == 0 else "")


def _footnote_block_open(self, tokens, idx, options, env) -> str:
    return '<div class="footnotes">\n<ol class="footnotes-list">\n'


def _footnote_block_close(self, tokens, idx, options, env) -> str:
    return "</ol>\n</div>\n"


def _footnote_open(self, tokens, idx, options, env) -> str:
    return f'<li id="fn-{env["docId"]}-{tokens[idx].meta["id"] + 1}" class="footnote-item">'


def _footnote_anchor(self, tokens, idx, options, env) -> str:
    n = tokens[idx].meta["id"] + 1
    _ = env["_"]
    label = escape(_("Back to the call of note %(number)s") % {"number": n})
    return f' <a href="#fnref{_note_id(tokens, idx, env)}" class="footnote-backref" aria-label="{label}">↩\ufe0e</a>'


_NOTE_ITEM = re.compile(r'<li id="fn(?P<id>-[0-9a-f]+-\d+)" class="footnote-item">(?P<body>.*?)</li>', re.S)
_BACKREF = re.compile(r' <a href="#fnref[^"]*" class="footnote-backref"[^>]*>[^<]*</a>')
_BLOCK = re.compile(r"</?(?:p|ul|ol|li|blockquote|h[3-6]|table|thead|tbody|tr|th|td)(?:\s[^>]*)?>")


def _print_notes(html: str) -> str:
    """Put each note's text (inline, without its back link) in a print-only span after its first call."""
    notes = {}
    for m in _NOTE_ITEM.finditer(html):
        body = _BACKREF.sub("", m.group("body"))
        notes[m.group("id")] = " ".join(_BLOCK.sub(" ", body).split())
    return re.sub(r"<!--footnote(-[0-9a-f]+-\d+)-->",
                  lambda m: f'<span class="footnote">{notes.get(m.group(1), "")}</span>', html)


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "xhtmlOut": False}).enable("table")
    md.use(footnote_plugin)
    md.add_render_rule("footnote_ref", _footnote_ref)
    md.add_render_rule("footnote_block_open", _footnote_block_open)
    md.add_render_rule("footnote_block_close", _footnote_block_close)
    md.add_render_rule("footnote_open", _footnote_open)
    md.add_render_rule("footnote_anchor", _footnote_anchor)
    # Every link and image is parsed, then judged by _safety_rule (so that a refused link keeps its text).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.push("reportgen_safety", _safety_rule)
    return md


def render_markdown(text: str | None, lang: str, *, resolve_asset: ResolveAsset | None = None) -> Markup:
    """Safe HTML of the dataset's Markdown ``text`` for a publication in ``lang`` (see the module docstring).

    ``resolve_asset(path)`` receives an image path such as ``assets/map.png`` and returns the URL to put in
    ``src`` (for example a path relative to the published page), or ``None`` to show the alt text instead.
    """
    if not text:
        return Markup("")
    doc_id = hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:8]
    html = _parser().render(str(text), {"resolve_asset": resolve_asset, "docId": doc_id, "_": gettext_for(lang)})
    if "<!--footnote" in html:
        html = _print_notes(html)
    if lang == "fr":
        html = french_html(html)
    return Markup(html)
