"""The API's bearer token: from UNVEIL_API_TOKEN, or generated once and kept 0600 in the data folder."""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from fer_core import UnveilError
from fer_core.store import make_private_folders, remove_made_folders, write_whole

TOKEN_ENV = "UNVEIL_API_TOKEN"
TOKEN_FILE = "api_token"
# 32 random bytes, URL-safe: 43 characters, beyond guessing at any request rate.
TOKEN_BYTES = 32
# Opening the token file never follows a symbolic link in its place (Windows has no such flag).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
TOKEN_FILE_OPEN = ("{path} can be read by other users of this machine (mode {mode:o}): the API token must be "
                   "private (chmod 600 {path}); the server was not started")
TOKEN_FILE_EMPTY = "{path} is empty: delete it to have a new token made; the server was not started"
TOKEN_ENV_EMPTY = f"{TOKEN_ENV} is set but empty: set it to a token or unset it; the server was not started"
# Nothing slows guesses down (one client tried the 10,000 four-digit tokens in 3.5 s), so a token a person
# chose must be long: 12 random characters are over 70 bits; a generated one has 43 characters.
TOKEN_MIN_CHARS = 12
TOKEN_ENV_SHORT = (f"{TOKEN_ENV} is shorter than {TOKEN_MIN_CHARS} characters, so whoever can reach the server could "
                   "guess it: unset it to have a random token made, or set a longer random one; the server was not "
                   "started")
TOKEN_FILE_SHORT = (f"{{path}} holds a token shorter than {TOKEN_MIN_CHARS} characters, so whoever can reach the "
                    "server could guess it: delete it to have a random token made; the server was not started")


TOKEN_FILE_LINK = ("{path} is a symbolic link: the API token must be a file of its own, not whatever the link points "
                   "to (delete the link to have a new token made); the server was not started")
TOKEN_FILE_NOT_FILE = "{path} is not a file: remove it to have a new token made; the server was not started"
TOKEN_FILE_OWNER = ("{path} belongs to another user (uid {owner}), who chose what it holds: delete it to have a new "
                    "token made; the server was not started")
TOKEN_FILE_UNREADABLE = "{path} cannot be read ({reason}); the server was not started"
TOKEN_FILE_NOT_CREATED = (f"the API token file {{path}} cannot be made ({{reason}}): give a --data-dir this user can "
                          f"write to, or set {TOKEN_ENV} to a random token of {TOKEN_MIN_CHARS} or more characters; "
                          "the server was not started")


class TokenFileError(UnveilError):
    """The token file (or UNVEIL_API_TOKEN) cannot be used as it is; nothing was changed."""


def load_or_create(data_dir: str | os.PathLike[str]) -> tuple[str, bool]:
    """The token and whether it was just made (so the caller shows it once).

    UNVEIL_API_TOKEN wins; otherwise `data_dir`/api_token, created 0600 with a fresh random token if
    absent. A token file others can read, one another user owns, a symbolic link, an empty one or a token
    shorter than TOKEN_MIN_CHARS is refused rather than used or replaced."""
    if TOKEN_ENV in os.environ:
        if not os.environ[TOKEN_ENV].strip():
            raise TokenFileError(TOKEN_ENV_EMPTY)
        if len(os.environ[TOKEN_ENV].strip()) < TOKEN_MIN_CHARS:
            raise TokenFileError(TOKEN_ENV_SHORT)
        return os.environ[TOKEN_ENV].strip(), False
    path = Path(data_dir) / TOKEN_FILE
    try:
        return _read(path), False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        # Each folder made 0700, as for a new store (mkdir(parents=True) made those above 0777 less the umask): on a
        # new machine the server makes the data folder before any store exists. Those made are removed if it fails.
        made = make_private_folders(path.parent)
    except OSError as exc:  # a read-only folder or file system, another user's folder: said, not a traceback
        raise TokenFileError(TOKEN_FILE_NOT_CREATED.format(path=path, reason=_reason(exc))) from None
    try:  # a start that fails leaves none of the folders it made (as a failed store creation, 33b91d6)
        try:
            # Written whole beside its name, then placed, never over a token there (write_whole, new): a server
            # starting at the same moment finds no token file or the whole token, never the empty file that it
            # refused as "empty: delete it" (4 servers started together: 12 of 40 starts failed so).
            write_whole(path, (token + "\n").encode("ascii"), new=True)
        except FileExistsError:
            return _read(path), False
        except OSError as exc:  # a read-only or full file system, or a folder that refuses the new name
            raise TokenFileError(TOKEN_FILE_NOT_CREATED.format(path=path, reason=_reason(exc))) from None
    except BaseException:
        remove_made_folders(made)  # each only while empty: a token another server placed meanwhile stays
        raise
    return token, True


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _read(path: Path) -> str:
    """The token in `path`, judged by the file actually opened (its type, owner and mode), never by a link."""
    try:
        # O_NONBLOCK: a named pipe in its place is opened at once and refused as not a file below, rather than waited
        # on for a writer (the server hung at start without a word); a regular file reads as it would without it.
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except FileNotFoundError:
        raise  # load_or_create makes one
    except OSError as exc:
        if path.is_symlink():  # O_NOFOLLOW: ELOOP (Linux) or EMLINK (FreeBSD) for a link, dangling or not
            raise TokenFileError(TOKEN_FILE_LINK.format(path=path)) from None
        raise TokenFileError(TOKEN_FILE_UNREADABLE.format(path=path, reason=exc.strerror)) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(TOKEN_FILE_NOT_FILE.format(path=path))
        # Root reads any file: a token file another user put in a data folder they can write to would be their
        # token (and the mode check below theirs to pass).
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise TokenFileError(TOKEN_FILE_OWNER.format(path=path, owner=info.st_uid))
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise TokenFileError(TOKEN_FILE_OPEN.format(path=path, mode=mode))
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            token = handle.read().decode("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(TOKEN_FILE_UNREADABLE.format(path=path, reason=exc)) from None
    finally:
        os.close(descriptor)
    if not token:
        raise TokenFileError(TOKEN_FILE_EMPTY.format(path=path))
    if len(token) < TOKEN_MIN_CHARS:
        raise TokenFileError(TOKEN_FILE_SHORT.format(path=path))
    return token
