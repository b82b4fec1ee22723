"""The text of a tagged PDF's structure elements (pikepdf only: the content streams decoded with the fonts'
ToUnicode maps), for tests that match structure elements to the HTML they were made from."""

from __future__ import annotations

import re
from collections import defaultdict

import pikepdf

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _to_unicode(font) -> tuple[dict[bytes, str], int]:
    """A font's ToUnicode map (code bytes → text) and its code width in bytes."""
    mapping: dict[bytes, str] = {}
    width = 1
    stream = font.get("/ToUnicode")
    if stream is None:
        return mapping, 1
    data = stream.read_bytes()
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        codes = _HEX.findall(block)
        for src, dst in zip(codes[::2], codes[1::2]):
            width = len(src) // 2
            mapping[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            width = len(lo) // 2
            a, b, d = int(lo, 16), int(hi, 16), int(dst, 16)
            for k in range(b - a + 1):
                mapping[(a + k).to_bytes(width, "big")] = chr(d + k)
    return mapping, width


def _decode(raw: bytes, cmap: tuple[dict[bytes, str], int]) -> str:
    mapping, width = cmap
    return "".join(mapping.get(raw[i:i + width], "") for i in range(0, len(raw), width))


def marked_text(pdf: pikepdf.Pdf) -> dict[tuple[int, int], str]:
    """(page index, MCID) → the text drawn in that marked-content sequence."""
    out: dict[tuple[int, int], str] = defaultdict(str)
    for index, page in enumerate(pdf.pages):
        fonts = page.Resources.get("/Font", {})
        cmaps = {name: _to_unicode(fonts[name]) for name in fonts.keys()}
        current = None
        stack: list[int | None] = []
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op == "BDC":
                props = operands[1] if len(operands) > 1 else None
                mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
                stack.append(int(mcid) if mcid is not None else (stack[-1] if stack else None))
            elif op == "BMC":
                stack.append(stack[-1] if stack else None)
            elif op == "EMC":
                if stack:
                    stack.pop()
            elif op == "Tf":
                current = cmaps.get(str(operands[0]))
            elif op in ("Tj", "TJ", "'", '"') and stack and stack[-1] is not None and current is not None:
                items = operands[-1] if op != "TJ" else operands[0]
                parts = [items] if op != "TJ" else [x for x in items if isinstance(x, pikepdf.String)]
                out[(index, stack[-1])] += "".join(_decode(bytes(p), current) for p in parts)
    return out


def language_parts(pdf: pikepdf.Pdf) -> list[tuple[str, str, str]]:
    """(structure type, /Lang, text) of every structure element carrying /Lang, its text being all of its
    descendants' marked content."""
    pages = {p.objgen: i for i, p in enumerate(pdf.pages)}
    text = marked_text(pdf)
    found: list[tuple[str, str, str]] = []

    def collect(elem, page: int | None) -> str:
        if isinstance(elem, int):
            return text.get((page, elem), "") if page is not None else ""
        if not isinstance(elem, pikepdf.Dictionary):
            return ""
        pg = elem.get("/Pg")
        if pg is not None:
            page = pages.get(pg.objgen, page)
        if "/MCID" in elem:
            return text.get((page, int(elem.MCID)), "")
        kids = elem.get("/K")
        if kids is None:
            return ""
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
        return "".join(collect(k, page) for k in kids)

    def walk(elem, page):
        if not isinstance(elem, pikepdf.Dictionary):
            return
        pg = elem.get("/Pg")
        if pg is not None:
            page = pages.get(pg.objgen, page)
        if "/Lang" in elem and "/S" in elem:
            found.append((str(elem.S)[1:], str(elem.Lang), collect(elem, page)))
        kids = elem.get("/K")
        if kids is None:
            return
        for k in (list(kids) if isinstance(kids, pikepdf.Array) else [kids]):
            walk(k, page)

    root = pdf.Root.StructTreeRoot
    walk(root.K if not isinstance(root.K, pikepdf.Array) else root.K[0], None)
    return found
