"""Build settings: the workflow's config, typed, with the defaults and descriptions of config/config.schema.yaml.

The JSON schema is the one declaration: Snakemake validates the config against it, the command line reads its
defaults from it, and docs/config.md is checked against it by the tests.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ReportgenError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = PROJECT_ROOT / "config" / "config.schema.yaml"


def load_schema() -> dict:
    try:
        return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportgenError(f"cannot read the config schema {SCHEMA_PATH}: {exc.strerror}") from None


@dataclass(frozen=True)
class Settings:
    """Typed build settings; see config/config.schema.yaml for each key's meaning."""

    data: Path
    output: Path
    languages: tuple[str, ...] = ()
    pdf_variant: str = "pdf/ua-1"
    templates: Path | None = None
    public_url: str = ""
    data_date: str = ""
    shards: int = 1
    max_xlsx_mb: float = 50
    render_timeout: float = 120
    render_memory_mb: int = 3072

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "Settings":
        """Validate ``values`` against the schema (defaults filled in) and build Settings."""
        import jsonschema

        schema = load_schema()
        merged = {k: v.get("default") for k, v in schema["properties"].items()}
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
        kw["templates"] = Path(kw["templates"]) if kw.get("templates") else None
        return cls(**kw)

    @property
    def state_dir(self) -> Path:
        """Hidden build state inside the output folder (not a publication)."""
        return self.output / ".reportgen"


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
