"""Test helper: render publications as the build does and check the layout of the very document it keeps.

:func:`render_and_check` renders each publication with the build's :class:`reportgen.worker.Worker` while the
build's fitter is replaced by :class:`CheckingFitter`, which also runs :func:`reportgen.layout.check` on the
document kept: one render per publication (plus the fit's), no second render to check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from reportgen import layout
from reportgen.build import stage_prepare
from reportgen.model import Doc
from reportgen.settings import Settings


class CheckingFitter(layout.Fitter):
    """The build's fitter, which also keeps the kept document's pages, problems and text."""

    kept: ClassVar[list[tuple[int, list[layout.Problem], str]]] = []
    renders: ClassVar[int] = 0  # documents laid out since the last clear (2 when the fit rendered it again)

    def __call__(self, document):
        CheckingFitter.renders += 1
        refit = super().__call__(document)
        if refit is None:
            pages = layout.pages(document)
            text = " ".join(leaf.text for page in pages for leaf in page.leaves)
            CheckingFitter.kept.append((len(document.pages), layout.check(document), text))
        return refit


@dataclass
class Checked:
    key: str
    pages: int
    problems: list[layout.Problem]
    text: str  # every word drawn on its pages, in order
    stranded: float | None  # what the build says about its last page after fitting
    fitted: bool  # the build laid it out twice: its first layout's last page was stranded


def render_and_check(s: Settings, keys: list[str] | None, monkeypatch: pytest.MonkeyPatch) -> list[Checked]:
    """Prepare ``s``, render ``keys`` (every publication when None) and check each one's layout."""
    from reportgen.worker import Worker

    monkeypatch.setattr(layout, "Fitter", CheckingFitter)
    plan = stage_prepare(s, quiet=True)
    worker = Worker(s, plan)
    out = []
    for key in keys if keys is not None else [d["key"] for d in plan["documents"]]:
        CheckingFitter.kept.clear()
        CheckingFitter.renders = 0
        result = worker.render(Doc.from_key(key).key)
        assert result.status == "built", (key, result.error)
        ((pages, problems, text),) = CheckingFitter.kept
        assert pages == result.pages
        out.append(Checked(key, pages, problems, text, result.stranded, CheckingFitter.renders > 1))
    return out
