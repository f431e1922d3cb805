"""A path typed into a page for a file or folder on this computer (a key file, a backup's folder): refused when empty
or relative, since a relative path would be taken from the folder the app was started in, which the person at the
browser does not see."""
from __future__ import annotations

from pathlib import Path

from fer_core import UnveilError


class TypedPathError(UnveilError):
    """What was typed is no path to use: empty, or not a full path (the message says which, for its page)."""


def full_path(typed: str, *, empty: str, not_full: str) -> Path:
    """The path as typed (blanks around it dropped, ~ expanded); TypedPathError with `empty` when nothing was typed,
    or with `not_full` (formatted with the text typed as {path}) when it is not a full path."""
    typed = typed.strip()
    if not typed:
        raise TypedPathError(empty)
    path = Path(typed).expanduser()
    if not path.is_absolute():
        raise TypedPathError(not_full.format(path=typed))
    return path
