"""Where the store lives: `UNVEIL_DATA_DIR` if set, else the platform's per-user data folder."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    """The data directory used when none is given (e.g. ~/.local/share/unveil on Linux)."""
    override = os.environ.get("UNVEIL_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("unveil", appauthor=False))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
