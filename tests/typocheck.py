"""Typography checkers for the visible text of the publications (tests/test_typography_check.py runs them).

French (docs/templates.md, "Typography"; ../shared/design/publications.md):

- ``: ; ! ?`` (followed by a space or the end of the text) are preceded by a no-break space (U+00A0 or U+202F);
- ``«`` is followed, ``»`` preceded, by a no-break space;
- ``%`` and the currency symbols (``€ $ £``) after a number are preceded by a no-break space;
- digit groups (``1 234 567``) are separated by no-break spaces;
- no straight apostrophe ``'``.

English (the rules reportgen chose):

- no space of any kind before ``: ; ! ?`` (followed by a space or the end of the text);
- ``12%``: no space before ``%``; ``€1,234``: the currency symbol before the number, with no space;
- no straight apostrophe between two letters (``evaluation’s``).

Text inside URLs and e-mail addresses is not checked (a URL keeps its characters).
"""

from __future__ import annotations

import re

NB = "\u00a0\u202f"
_URL = re.compile(r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://|\bmailto:|\bwww\.)\S*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _strip_urls(text: str) -> str:
    return _URL.sub(" ", text)


def _excerpt(text: str, i: int) -> str:
    return repr(text[max(0, i - 20): i + 20])


def french_violations(text: str, *, extracted: bool = False) -> list[str]:
    """The French rules broken in ``text``. ``extracted``: text extracted from a PDF, where a no-break space comes
    out as an ordinary one: any space is then taken for the right one (a missing space is still found)."""
    text = _strip_urls(text)
    if extracted:
        text = text.replace(" ", "\u00a0")
    out = []
    for m in re.finditer(r"(?<=\S)([ \t]?)([;:!?])(?=\s|$)", text):
        before = text[m.start() - 1] if m.start() else ""
        if before in "!?;:«(" or before in NB:
            continue
        out.append(f"no no-break space before {m.group(2)!r}: {_excerpt(text, m.start())}")
    for m in re.finditer(r"«(?![\u00a0\u202f])", text):
        out.append(f"no no-break space after «: {_excerpt(text, m.start())}")
    for m in re.finditer(r"(?<![\u00a0\u202f])»", text):
        out.append(f"no no-break space before »: {_excerpt(text, m.start())}")
    for m in re.finditer(r"\d( ?)([%€$£])", text):
        out.append(f"no no-break space before {m.group(2)!r}: {_excerpt(text, m.start())}")
    for m in re.finditer(r"(?<![\d,.])\d{1,3}(?:[ \t]\d{3})+(?![\d])", text):
        out.append(f"digit groups separated by breaking spaces: {_excerpt(text, m.start())}")
    for m in re.finditer(r"'", text):
        out.append(f"straight apostrophe: {_excerpt(text, m.start())}")
    return out


def english_violations(text: str) -> list[str]:
    text = _strip_urls(text)
    out = []
    for m in re.finditer(r"(?<=\w)[ \t\u00a0\u202f]+([;:!?])(?=\s|$)", text):
        out.append(f"space before {m.group(1)!r}: {_excerpt(text, m.start())}")
    for m in re.finditer(r"\d[ \t\u00a0\u202f]+%", text):
        out.append(f"space before '%': {_excerpt(text, m.start())}")
    for m in re.finditer(r"\d[ \t\u00a0\u202f]*[€£$]", text):
        out.append(f"currency symbol after the number: {_excerpt(text, m.start())}")
    for m in re.finditer(r"(?<=[^\W\d_])'(?=[^\W\d_])", text):
        out.append(f"straight apostrophe: {_excerpt(text, m.start())}")
    return out


CHECKERS = {"fr": french_violations, "en": english_violations}
