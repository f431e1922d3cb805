"""Where the store lives: `UNVEIL_DATA_DIR` if set, else the platform's per-user data folder.

Both are made absolute against the folder the program is started in: a relative UNVEIL_DATA_DIR or --data-dir
('data') names a different store for the app and the CLI started from different folders, and every message
named it 'data', which did not say which. Absolute, the app's sidebar and every message say which folder it is.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    """The data directory used when none is given (e.g. ~/.local/share/unveil on Linux), absolute."""
    override = os.environ.get("UNVEIL_DATA_DIR")
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_data_dir("unveil", appauthor=False)).absolute()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """`data_dir` (--data-dir) or default_data_dir(), absolute (not resolved: a link in it is kept as given)."""
    return Path(data_dir).expanduser().absolute() if data_dir is not None else default_data_dir()
