"""French typography, applied once to generated text and to rendered narrative.

The rules (``../shared/design/publications.md``, section Typography), and nothing else:

- a narrow no-break space (U+202F) before ``;``, ``!`` and ``?``; a no-break space (U+00A0) before ``:``;
- a no-break space (U+00A0) inside guillemets: ``« texte »`` → ``«\u00a0texte\u00a0»``;
- ``n° 128`` / ``N° 12`` with a no-break space (inserted in ``n°128`` too);
- ``1er`` kept together with the month that follows (``1er\u00a0mars``);
- the space between a number and ``%`` or ``€`` made a no-break one (``100 %`` → ``100\u00a0%``; a narrow no-break
  space already there is kept); none is inserted (``width: 30%`` in a style attribute is CSS, not prose);
- the typographic apostrophe: a straight ``'`` touching a letter becomes ``’`` (``l'Ouest`` → ``l’Ouest``).

English (:func:`english`) has one rule, the same apostrophe: a straight ``'`` between two letters becomes ``’``
(``evaluation's`` → ``evaluation’s``); quotation marks, feet and minutes are left as they are.

An ordinary space, tab, thin space or the wrong no-break space already there is replaced; a missing one is inserted.
The filter is conservative: it leaves alone what it cannot be sure of.

- ``:`` and ``;`` are handled only when followed by a space or the end of the text, so times (``12:30``),
  ratios (``1:2``), ``C:\\``, ``urn:isbn`` and emoticons (``:)``, ``;-)``) are untouched; ``!`` and ``?`` only when
  followed by a space, the end, or closing punctuation (so ``a?b=c`` stays).
- Nothing changes inside a URL (``scheme://…``, ``mailto:…``, ``www.…``) or an e-mail address.
- No space is inserted at the start of a line, after an opening bracket or quote, or between two marks (``?!``).

Only horizontal spaces are ever inserted, replaced or removed, and straight apostrophes made typographic: remove every
space from the input and the output, and read ``'`` as ``’``, and the two strings are equal. Applying the filter twice
gives the same text as applying it once.

:func:`french_html` applies the same rules to the text of an HTML fragment: tags, attributes, comments and the
content of ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``, ``<script>``, ``<style>``, ``<textarea>``, ``<svg>`` and
``<math>`` are left byte for byte; text split by inline tags (``<em>Quoi</em> ?``) is read as one run.
"""

from __future__ import annotations

import html as _html
import re

from markupsafe import Markup

class Verbatim(str):
    """A string printed as it is (still HTML-escaped): URLs, data URIs, ids, codes.

    French typography must not touch these (``data:image/svg+xml;base64,…`` has a semicolon).
    """

    __slots__ = ()


NBSP = "\u00a0"
NNBSP = "\u202f"

# Horizontal spaces the rules normalise (a newline is a line start, never touched).
_HSPACE = " \t\u00a0\u202f\u2009\u2007"
_NO_SPACE_AFTER = set(";:!?([{«\"“‘'’/")
_AFTER_EXCLAMATION = set("!?;:.,)]}»\"”’'…")
_MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"

_PROTECTED = re.compile(
    r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://|\bmailto:|\bwww\.)[^\s<>\"«»]*"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
)
_MARK = re.compile(r"[;:!?«»]")
_APOS_FR = re.compile(r"(?<=[^\W\d_])'|'(?=[^\W\d_])")  # a straight apostrophe touching a letter
_APOS_EN = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")  # a straight apostrophe between two letters
_NUMERO = re.compile(r"\b[nN]°(?P<ws>[ \t\u00a0\u202f\u2009\u2007]*)(?=\d)")
_UNIT = re.compile(r"(?<=\d)(?P<ws>[ \t\u00a0\u202f\u2009\u2007]+)(?=[%€](?:$|[\s.,;:!?)\]»…]))")
_PREMIER = re.compile(rf"\b1er(?P<ws>[ \t\u00a0\u202f\u2009\u2007]+)(?=(?:{_MONTHS})\b)")

Edit = tuple[int, int, str]  # replace s[start:end] by text


def _is_protected(spans: list[tuple[int, int]], i: int) -> bool:
    return any(a <= i < b for a, b in spans)


def _edits(s: str) -> list[Edit]:
    """Every change the rules make to ``s``: a span of horizontal space replaced, or an insertion."""
    spans = [m.span() for m in _PROTECTED.finditer(s)]
    edits: list[Edit] = []
    for m in _MARK.finditer(s):
        i = m.start()
        c = s[i]
        if spans and _is_protected(spans, i):
            continue
        if c == "«":
            k = i + 1
            while k < len(s) and s[k] in _HSPACE:
                k += 1
            if k < len(s) and not s[k].isspace() and s[i + 1 : k] != NBSP:
                edits.append((i + 1, k, NBSP))
            continue
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if c in ":;" and nxt and not nxt.isspace():
            continue
        if c in "!?" and nxt and not nxt.isspace() and nxt not in _AFTER_EXCLAMATION:
            continue
        need = NNBSP if c in ";!?" else NBSP
        j = i
        while j > 0 and s[j - 1] in _HSPACE:
            j -= 1
        if j == 0 or s[j - 1].isspace() or s[j - 1] == "«":
            continue  # start of a line, or the space after « (the « rule owns it)
        if j < i:
            if s[j:i] != need:
                edits.append((j, i, need))
        elif s[i - 1] not in _NO_SPACE_AFTER:
            edits.append((i, i, need))
    for m in _APOS_FR.finditer(s):
        if not (spans and _is_protected(spans, m.start())):
            edits.append((m.start(), m.end(), "’"))
    for m in _UNIT.finditer(s):
        if m.group("ws") not in (NBSP, NNBSP) and not (spans and _is_protected(spans, m.start())):
            edits.append((m.start("ws"), m.end("ws"), NBSP))
    for rx in (_NUMERO, _PREMIER):
        for m in rx.finditer(s):
            if m.group("ws") != NBSP and not (spans and _is_protected(spans, m.start())):
                edits.append((m.start("ws"), m.end("ws"), NBSP))
    return edits


def _apply(s: str, edits: list[Edit]) -> str:
    out, pos = [], 0
    for start, end, text in sorted(edits):
        out.append(s[pos:start])
        out.append(text)
        pos = end
    out.append(s[pos:])
    return "".join(out)


_FR_TRIGGER = re.compile(r"[;:!?«»'°]")
_HSPACE_RE = re.compile(f"[{_HSPACE}]")


def _french_may_change(text: str, before: str, after: str) -> bool:
    """False only when no rule can change ``text`` read between ``before`` and ``after``: most printed values (names,
    numbers, labels) are not read by the rules at all. A necessary condition of :func:`_edits`, rule by rule (tested
    against the rules themselves): an edit of ``text`` is a mark, an apostrophe or a ``°`` in it (or a ``«``/``°``
    just before it), or a run of spaces in it that stands before a mark opening ``after``, before ``%``/``€``, or
    after ``1er``."""
    if _FR_TRIGGER.search(text) or before.endswith(("«", "°")):
        return True
    if not _HSPACE_RE.search(text):
        return False
    return ((text[-1] in _HSPACE and after.startswith((";", ":", "!", "?", "»")))
            or "%" in text or "€" in text or after.startswith(("%", "€")) or "er" in before[-2:] + text)


def _french_in_context(text: str, before: str = "", after: str = "") -> str:
    """Apply the rules to ``text`` read between ``before`` and ``after`` (which are not changed).

    An insertion at the boundary between ``before`` and ``text`` belongs to ``text``; one at the boundary between
    ``text`` and ``after`` belongs to the next piece, so that no space is inserted twice.
    """
    if not _french_may_change(text, before, after):
        return text
    return _french_rules(text, before, after)


def _french_rules(text: str, before: str, after: str) -> str:
    s = before + text + after
    lo, hi = len(before), len(before) + len(text)
    keep = [(a, b, t) for a, b, t in _edits(s) if lo <= a and b <= hi and (a < b or a < hi)]
    if not keep:
        return text
    r = _apply(s, keep)
    return r[lo : len(r) - len(after)]


def french(text: str) -> str:
    """French typography on plain text (idempotent). A :class:`~markupsafe.Markup` is treated as HTML."""
    if isinstance(text, Markup):
        return french_html(text)
    return _french_in_context(text)


_FRENCH_SPACE = re.compile(r"[\u00a0\u202f](?=[;:!?])")


def _english_in_context(text: str, before: str = "", after: str = "") -> str:
    """English rules on ``text`` read between ``before`` and ``after``: the apostrophe, and no French space before
    ``: ; ! ?`` (text first typeset as French, then found to be English)."""
    if not _english_may_change(text, after):
        return text
    return _english_rules(text, before, after)


def _english_may_change(text: str, after: str) -> bool:
    """False only when the English rules cannot change ``text`` (see :func:`_french_may_change`): an apostrophe in
    it, or a French space in it before a mark."""
    return "'" in text or (("\u00a0" in text or "\u202f" in text)
                           and (any(c in text for c in ";:!?") or after.startswith((";", ":", "!", "?"))))


def _english_rules(text: str, before: str, after: str) -> str:
    s = before + text + after
    lo, hi = len(before), len(before) + len(text)
    spans = [m.span() for m in _PROTECTED.finditer(s)]
    edits = [(m.start(), m.end(), "’") for m in _APOS_EN.finditer(s)
             if lo <= m.start() < hi and not (spans and _is_protected(spans, m.start()))]
    edits += [(m.start(), m.end(), "") for m in _FRENCH_SPACE.finditer(s) if lo <= m.start() < hi]
    if not edits:
        return text
    r = _apply(s, edits)
    return r[lo : len(r) - len(after)]


def english(text: str) -> str:
    """English typography on plain text (idempotent). A :class:`~markupsafe.Markup` is treated as HTML."""
    if isinstance(text, Markup):
        return english_html(text)
    return _english_in_context(text)


_IN_CONTEXT = {"fr": _french_in_context, "en": _english_in_context}


def has_rules(lang: str) -> bool:
    """Whether this module has typography rules for ``lang``."""
    return lang in _IN_CONTEXT


def typeset(text: str, lang: str) -> str:
    """The typography of ``lang`` on plain text (or HTML when ``text`` is Markup); other languages: unchanged."""
    if lang == "fr":
        return french(text)
    if lang == "en":
        return english(text)
    return text


# --- HTML ---------------------------------------------------------------------------------------------------------

_TAG = re.compile(
    r"<!--.*?-->"
    r"|<![^>]*>"
    r"|<\?.*?>"
    r"|</?(?P<name>[A-Za-z][A-Za-z0-9:-]*)"
    r"(?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>",
    re.S,
)
_RAW_TEXT = {"script", "style", "textarea", "title"}  # content is text up to the end tag, never tags
_SKIP = {"code", "pre", "kbd", "samp", "script", "style", "textarea", "svg", "math"}
_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q", "s", "samp",
    "small", "span", "strong", "sub", "sup", "time", "u", "var",
}  # fmt: skip
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_CONTEXT = 200  # characters of neighbouring text read as context


def _tokens(html: str) -> list[tuple[str, str, str | None, bool]]:
    """Split into (kind, raw, tag name, is end tag); kind is "tag", "other" (comment, doctype) or "text"."""
    out: list[tuple[str, str, str | None, bool]] = []
    pos = 0
    while pos < len(html):
        m = _TAG.search(html, pos)
        if m is None:
            out.append(("text", html[pos:], None, False))
            break
        if m.start() > pos:
            out.append(("text", html[pos : m.start()], None, False))
        name = m.group("name")
        if name is None:
            out.append(("other", m.group(), None, False))
            pos = m.end()
            continue
        name = name.lower()
        is_end = m.group().startswith("</")
        out.append(("tag", m.group(), name, is_end))
        pos = m.end()
        if name in _RAW_TEXT and not is_end and not m.group().endswith("/>"):
            end = re.compile(rf"</{name}\s*>", re.I).search(html, pos)
            stop = end.start() if end else len(html)
            if stop > pos:
                out.append(("text", html[pos:stop], None, False))
            pos = stop
    return out


def french_html(html: str) -> str:
    """French typography on the text nodes of an HTML fragment (idempotent); tags and attributes are untouched.

    A text node that changes is written back with ``&``, ``<`` and ``>`` escaped (other character references are
    written as characters); a text node that does not change is kept byte for byte.
    """
    return _typeset_html(html, lambda lang: _french_in_context)


def english_html(html: str) -> str:
    """English typography (:func:`english`) on the text nodes of an HTML fragment."""
    return _typeset_html(html, lambda lang: _english_in_context)


_LANG_ATTR = re.compile(r"""\slang\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)


def _base_lang(value: str) -> str:
    return value.strip().lower().split("-", 1)[0]


def typeset_parts(html: str, page_lang: str) -> str:
    """The typography of its own language on every element whose ``lang`` differs from ``page_lang``.

    The page's own text is left as it is (the environment's ``finalize`` typeset it, attributes included); a text
    node inside ``<span lang="fr">`` of an English page gets the French rules, one inside ``lang="en"`` of a French
    page the English ones. Languages without rules are left alone. Cheap when the page has no such element.
    """
    text = str(html)
    if not any(_base_lang(m.group(1) or m.group(2) or m.group(3) or "") != page_lang
               for m in _LANG_ATTR.finditer(text)):
        return html
    page = _base_lang(page_lang)

    def rules(lang: str):
        return None if lang == page else _IN_CONTEXT.get(lang)

    result = _typeset_html(text, rules, page)
    return Markup(result) if isinstance(html, Markup) else result


def _typeset_html(html: str, rules_for, page_lang: str = "") -> str:
    """Apply ``rules_for(lang)`` (a function ``(text, before, after) -> text`` or None) to each text node, ``lang``
    being the language of the innermost element with a ``lang`` attribute (``page_lang`` outside any)."""
    tokens = _tokens(str(html))
    langs: list[tuple[str, str]] = []  # (tag name, language) of open elements with a lang attribute
    node_lang: dict[int, str] = {}
    # Group text nodes in runs of visible text (a block); note which may be changed.
    runs: list[list[int]] = [[]]
    editable: set[int] = set()
    skip: dict[str, int] = {}
    for n, (kind, raw, name, is_end) in enumerate(tokens):
        if kind == "text":
            if not any(skip.values()):
                editable.add(n)
                node_lang[n] = langs[-1][1] if langs else page_lang
            if not (skip.get("script") or skip.get("style")):
                runs[-1].append(n)
            continue
        if kind != "tag" or name is None:
            continue
        if name in _SKIP and name not in _VOID and not raw.endswith("/>"):
            skip[name] = max(0, skip.get(name, 0) + (-1 if is_end else 1))
        if name not in _VOID and not raw.endswith("/>"):
            if is_end:
                if langs and langs[-1][0] == name:
                    langs.pop()
            else:
                m = _LANG_ATTR.search(raw)
                if m:
                    langs.append((name, _base_lang(m.group(1) or m.group(2) or m.group(3) or "")))
                elif langs and langs[-1][0] == name:
                    langs.append((name, langs[-1][1]))  # a nested element of the same name keeps the language
        if name not in _INLINE:
            runs.append([])
    texts = {n: _html.unescape(tokens[n][1]) for run in runs for n in run}
    out = [t[1] for t in tokens]
    for run in runs:
        # ``before``: the last _CONTEXT characters of the run's text up to the node, as typeset so far; ``after``:
        # the first _CONTEXT characters after it, as written (kept as they go, not joined again for every node:
        # a table is one run of hundreds of nodes).
        before = ""
        for k, n in enumerate(run):
            text = texts[n]
            rule = rules_for(node_lang[n]) if n in editable else None
            if rule is not None:
                after, m = "", k + 1
                while len(after) < _CONTEXT and m < len(run):
                    after += texts[run[m]]
                    m += 1
                new = rule(text, before, after[:_CONTEXT])
                if new != text:
                    texts[n] = text = new
                    out[n] = _html.escape(new, quote=False)
            before = (before + text)[-_CONTEXT:]
    result = "".join(out)
    return Markup(result) if isinstance(html, Markup) else result
