"""Settings: loaded from YAML or a mapping, validated, with a default for each."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting is missing, unknown or of the wrong type. The message names the key and the file."""

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        self.key = key
        self.file = file
        self.message = message
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")
