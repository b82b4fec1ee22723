"""Documentation stays complete: every config key and every CLI subcommand is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from reportgen.cli import make_parser
from reportgen.settings import load_schema

ROOT = Path(__file__).resolve().parents[1]


def _subcommands() -> list[str]:
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_every_config_key_is_documented():
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    missing = [k for k in load_schema()["properties"] if f"`{k}`" not in doc]
    assert not missing, f"config keys missing from docs/config.md: {missing}"


def test_every_subcommand_is_documented():
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [c for c in _subcommands() if f"## `reportgen {c}`" not in doc]
    assert not missing, f"subcommands missing from docs/cli.md: {missing}"


def test_every_subcommand_flag_is_documented():
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sp in sub.choices.items():
        for action in sp._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help" and opt not in doc:
                    missing.append(f"{name} {opt}")
    assert not missing, f"flags missing from docs/cli.md: {missing}"


def test_readme_links_every_doc_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\(docs/([\w-]+\.md)\)", readme))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages - linked == set(), f"docs pages not linked from README.md: {sorted(pages - linked)}"
    assert linked - pages == set(), f"README.md links docs pages that do not exist: {sorted(linked - pages)}"


def test_readme_opens_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "bash .ci/setup && snakemake --cores all"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1].strip() in ci, ".ci/run must run the README's test command"


def test_the_architecture_document_names_every_module():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| [\w ]+ \| `(\w+)\.py` \|", doc, re.M))
    modules = {p.stem for p in (ROOT / "src" / "reportgen").glob("*.py") if p.stem != "__init__"}
    assert modules - table == set(), f"modules missing from docs/architecture.md: {sorted(modules - table)}"
    assert table - modules == set(), f"docs/architecture.md names modules that do not exist: {sorted(table - modules)}"
