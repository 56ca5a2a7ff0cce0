"""The people directory from MINUTESD_DIRECTORY (YAML or CSV)."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from parsers.people import Directory, directory_problems, load_directory
from service.core.config import ConfigError

log = logging.getLogger(__name__)


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


def check_directory(path: Path | None) -> list[str]:
    """The directory file's problems, each with its line (for `minutesd check` and the log)."""
    if path is None:
        return []
    text = path.read_text(encoding="utf-8-sig")
    try:
        return directory_problems(text, "csv" if path.suffix.lower() == ".csv" else "yaml")
    except (yaml.YAMLError, ValueError, AttributeError, TypeError) as exc:
        return [f"cannot be read: {exc}"]


class LiveDirectory:
    """The directory, read again when its file changes, so an edit needs no restart; a broken
    edit keeps the last good directory and says why in the log."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp = self._mtime()
        self.current = read_directory(path)

    def _mtime(self) -> float:
        try:
            return self.path.stat().st_mtime if self.path else 0.0
        except OSError:
            return 0.0

    def get(self) -> Directory:
        stamp = self._mtime()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self.current = read_directory(self.path)
                log.info("people directory %s read again: %d people", self.path, len(self.current.people))
            except ConfigError as exc:
                log.error("people directory changed but cannot be read, keeping the last good one: %s", exc)
        return self.current
