"""The people directory from MINUTESD_DIRECTORY (YAML or CSV)."""

from __future__ import annotations

from pathlib import Path

import yaml

from parsers.people import Directory, load_directory
from service.core.config import ConfigError


def read_directory(path: Path | None) -> Directory:
    if path is None:
        return Directory()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read the people directory {path}: {exc.strerror}") from exc
    kind = "csv" if path.suffix.lower() == ".csv" else "yaml"
    try:
        return load_directory(text, kind)
    except (yaml.YAMLError, ValueError, AttributeError, TypeError) as exc:
        raise ConfigError(f"the people directory {path} cannot be read: {exc}") from exc
