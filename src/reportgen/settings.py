"""Build settings: the workflow's config, typed, with the defaults and descriptions of config/config.schema.yaml.

The JSON schema is the one declaration: Snakemake validates the config against it, the command line reads its
defaults from it, and docs/config.md is checked against it by the tests.
"""

from __future__ import annotations

import calendar
import copy
import functools
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from . import state
from .errors import ReportgenError
from .model import LANGUAGES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = PROJECT_ROOT / "config" / "config.schema.yaml"


@functools.cache
def _schema() -> dict:
    try:
        return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportgenError(f"cannot read the config schema {SCHEMA_PATH}: {exc.strerror}") from None


def load_schema() -> dict:
    """The config schema (config/config.schema.yaml): the one declaration of every config key."""
    return copy.deepcopy(_schema())


def config_keys() -> dict[str, dict]:
    """Each config key's schema (type, description, default, enum…), in the schema's order."""
    return dict(_schema()["properties"])


def defaults() -> dict[str, Any]:
    return {k: v.get("default") for k, v in _schema()["properties"].items()}


def config_entries(values: dict[str, Any]) -> list[str]:
    """``key=value`` entries for Snakemake's ``--config``, in the schema's order (lists as ``[a,b]``)."""
    entries = []
    for key in _schema()["properties"]:
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, (list, tuple)):
            text = "[" + ",".join(str(v) for v in value) + "]"
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        entries.append(f"{key}={text}")
    return entries


def pdf_variants() -> tuple[str, ...]:
    """The PDF flavours a build can make (the schema's ``pdf_variant`` enum)."""
    return tuple(_schema()["properties"]["pdf_variant"]["enum"])


@dataclass(frozen=True)
class Settings:
    """Typed build settings. Each key's meaning, default and allowed values are declared once, in
    config/config.schema.yaml: :meth:`from_mapping` fills the defaults from it and validates against it, the command
    line makes its flags from it (:func:`reportgen.cli.settings_flags`), and docs/config.md is checked against it."""

    data: Path
    output: Path
    languages: tuple[str, ...]
    pdf_variant: str
    templates: Path | None
    public_url: str
    data_date: str
    shards: int
    max_xlsx_mb: float
    render_timeout: float
    render_memory_mb: int
    max_pages_country: int
    max_pages_region: int
    max_pages_synthesis: int

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "Settings":
        """Validate ``values`` against the schema (defaults filled in) and build Settings."""
        import jsonschema  # start-up time: only where settings are made from values

        schema = _schema()
        merged = defaults()
        merged.update({k: v for k, v in values.items() if v is not None})
        try:
            jsonschema.validate(merged, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "config"
            raise ReportgenError(f"invalid config value for {where}: {exc.message}") from None
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in merged.items() if k in known}
        kw["data"] = Path(kw["data"])
        kw["output"] = Path(kw["output"])
        kw["languages"] = tuple(kw.get("languages") or ())
        unknown = [lang for lang in kw["languages"] if lang not in LANGUAGES]
        if unknown:
            raise ReportgenError(f"invalid config value for languages: {unknown} (reportgen publishes in "
                                 f"{', '.join(LANGUAGES)}); fix the languages config key")
        kw["templates"] = Path(kw["templates"]) if kw.get("templates") else None
        return cls(**kw)

    @property
    def state_dir(self) -> Path:
        """Hidden build state inside the output folder (not a publication): see :mod:`reportgen.state`."""
        return state.state_dir(self.output)


def templates_root() -> Path:
    """The project's ``templates/`` folder (the package is installed from the repository)."""
    root = PROJECT_ROOT / "templates"
    if not (root / "base.html.j2").is_file():
        raise ReportgenError(
            f"the project's templates folder {root} is missing or incomplete (no base.html.j2); reportgen must be "
            "installed from its repository (pip install -e .) so that templates/ sits beside src/"
        )
    return root


def template_dirs(templates: Path | None) -> list[Path]:
    """Where templates, stylesheets and fonts are looked up, first match wins: the override folder (config
    ``templates``) when set, then the project's ``templates/``."""
    dirs = [templates_root()]
    if templates:
        if not Path(templates).is_dir():
            raise ReportgenError(f"the templates override folder {templates} does not exist; "
                                 "create it or set templates to \"\" in the config")
        dirs.insert(0, Path(templates))
    return dirs



def source_date_epoch(published: str, data_date: str = "") -> int:
    """The one timestamp written into outputs: from the config's data_date, else the evaluation's month.

    An explicit ``SOURCE_DATE_EPOCH`` in the environment wins, as the reproducible-builds convention says.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return int(env)
    text = data_date or published
    parts = [int(p) for p in text.split("-")]
    year, month = parts[0], parts[1]
    day = parts[2] if len(parts) > 2 else 1
    return calendar.timegm((year, month, day, 0, 0, 0))
