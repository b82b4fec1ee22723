"""Shared fixtures: the tiny dataset (tests/datasets.py) as files, as a folder, validated, and prepared.

- ``tiny_dataset_files`` (a fresh dict to change) and ``write_dataset`` (write a dict of files as a dataset);
- ``tiny_dataset_dir``: the tiny dataset written into the test's own folder (change it freely);
- ``tiny_validated`` (session): ``(Dataset, Figures)`` of the tiny dataset, validated once per test process;
- ``tiny_prepared`` (session): ``(Settings, plan)`` of an output folder where the prepare stage ran (fr + en):
  figures, assets, the render plan, no publication yet. Shared: never write into it; ``tiny_prepared_copy`` gives a
  copy of it in the test's own folder, to render into or change.

The fast tier (``pytest -m "not slow"``, what a developer runs on every change) renders no PDF: when the run
deselects slow tests, WeasyPrint's rendering is replaced by a failure that says to mark the test ``slow``; checks
with Chromium or Java are slow; property tests run a tenth of their examples (tests/tiers.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from datasets import TINY_DATASET, write_dataset

__all__ = ["TINY_DATASET", "write_dataset"]


def _fast_tier(config: pytest.Config) -> bool:
    return (config.getoption("markexpr", "") or "").replace(" ", "") == "notslow"


def pytest_configure(config: pytest.Config) -> None:
    # Read by tests/tiers.py, imported by the test modules after this.
    os.environ["REPORTGEN_TEST_TIER"] = "fast" if _fast_tier(config) else "full"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks that drive Chromium (axe-core) or Java (the Nu validator) take tens of seconds: the slow tier's."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("java"):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What a test said of its own run (``record_property("said", …)``: the state machine's steps and time), at the
    end of the run, also when it ran in an xdist worker (whose output pytest does not show)."""
    for kind in ("passed", "failed"):
        for report in terminalreporter.stats.get(kind, []):
            for name, value in getattr(report, "user_properties", []):
                if name == "said" and getattr(report, "when", "call") == "call":
                    terminalreporter.write_line(f"{report.nodeid}: {value}")


@pytest.fixture(scope="session", autouse=True)
def _no_pdf_rendering_in_the_fast_tier(request):
    """In ``-m "not slow"`` runs, rendering a PDF fails the test: such a test belongs to the slow tier."""
    if not _fast_tier(request.config):
        yield
        return
    import weasyprint

    def refuse(*args, **kwargs):
        raise AssertionError("this test renders a PDF: mark it @pytest.mark.slow (the fast tier renders none)")

    original = weasyprint.HTML.render
    weasyprint.HTML.render = refuse
    try:
        yield
    finally:
        weasyprint.HTML.render = original


@pytest.fixture
def tiny_dataset_files() -> dict[str, str | bytes]:
    """The tiny valid dataset as a fresh dict, to change before writing it with ``write_dataset``."""
    return dict(TINY_DATASET)


@pytest.fixture(name="write_dataset")
def write_dataset_fixture() -> Callable[[Path, dict[str, str | bytes]], Path]:
    """``write_dataset(root, files)``: write a dataset given as a dict of files."""
    return write_dataset


@pytest.fixture
def tiny_dataset_dir(tmp_path: Path) -> Path:
    """A folder holding the tiny valid dataset (fr + en, 3 regions, 5 countries, 8 actions…)."""
    return write_dataset(tmp_path / "data", TINY_DATASET)


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory) -> Path:
    """The tiny dataset written once per test process (read-only: tests that change data use tiny_dataset_dir)."""
    return write_dataset(tmp_path_factory.mktemp("tiny") / "data", TINY_DATASET)


@pytest.fixture(scope="session")
def tiny_validated(tiny_data_root):
    """``(Dataset, Figures)`` of the tiny dataset (read-only)."""
    from reportgen.aggregate import compute_figures
    from reportgen.validate import validate_dataset

    result = validate_dataset(tiny_data_root)
    assert result.dataset is not None, [str(p) for p in result.problems]
    return result.dataset, compute_figures(result.dataset)


@pytest.fixture(scope="session")
def tiny_prepared(tiny_data_root, tmp_path_factory):
    """``(Settings, plan)``: the prepare stage run on the tiny dataset (fr + en). Read-only: see tiny_prepared_copy."""
    from reportgen import build
    from reportgen.settings import Settings

    s = Settings.from_mapping({"data": str(tiny_data_root), "output": str(tmp_path_factory.mktemp("prepared"))})
    plan = build.stage_prepare(s, quiet=True)
    return s, plan


@pytest.fixture
def tiny_prepared_copy(tiny_prepared, tmp_path):
    """``(Settings, plan)`` of a copy of ``tiny_prepared`` in the test's folder (render into it, change it)."""
    from reportgen.settings import Settings

    s, plan = tiny_prepared
    out = tmp_path / "out"
    shutil.copytree(s.output, out, symlinks=True)
    return Settings.from_mapping({"data": str(s.data), "output": str(out)}), plan


@pytest.fixture(scope="session")
def embedded_checked(tmp_path_factory):
    """``(Settings, [layoutcheck.Checked])``: every publication of the embedded dataset (data/) rendered once as the
    build renders it, each checked by reportgen.layout (tests/layoutcheck.py); the PDFs and HTML stay in the output
    folder for other checks. Tests that use it share the xdist group "embedded", so the worker that runs them
    renders the 96 publications once."""
    from layoutcheck import render_and_check

    from reportgen.settings import Settings

    data = Path(__file__).resolve().parents[1] / "data"
    out = tmp_path_factory.mktemp("embedded") / "out"
    # no time limit: a loaded CI machine must not fail a layout check
    s = Settings.from_mapping({"data": str(data), "output": str(out), "render_timeout": 3600})
    with pytest.MonkeyPatch.context() as mp:
        checked = render_and_check(s, None, mp)
    return s, checked


@pytest.fixture(scope="module")
def fr():
    """A French formatter for euro amounts (test_i18n, test_charts)."""
    from reportgen.i18n import Formatter

    return Formatter("fr", "EUR")


@pytest.fixture(scope="module")
def en():
    """An English formatter for euro amounts."""
    from reportgen.i18n import Formatter

    return Formatter("en", "EUR")
