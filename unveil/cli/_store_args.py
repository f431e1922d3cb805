"""What every store-backed `unveil` command shares: where the store is, how it is unlocked, whom an erasure
names (`family purge`, `consent withdraw`), and turning Unveil's typed errors into one readable line and exit
status 1, and Ctrl-C, SIGTERM and SIGHUP into one line and exit status 130 (reports_errors).

Secrets: the passphrase comes from UNVEIL_PASSPHRASE (non-interactive use, tests), from standard input
when it is not a terminal (one line each: `unveil family list < passphrase-file`), or from getpass,
which does not echo it; --key-file names a 0600 key file instead. Secrets are never printed or logged.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fer_core import UnveilError
from fer_core.store import (
    DEFAULT_BUSY_TIMEOUT_S,
    STRAY_COPIES_WARNING,
    FamilyStore,
    KeyDestroyedError,
    TamperedDataError,
    WrongPassphraseError,
    default_data_dir,
    file_system,
    others_can_write,
    stray_copies,
)
from governance import family
from unveil.cli._terminal import shown

PASSPHRASE_ENV = "UNVEIL_PASSPHRASE"
NEW_PASSPHRASE_ENV = "UNVEIL_NEW_PASSPHRASE"
EMPTY_ENV = "{env} is set but empty; set it to the passphrase, or unset it to be asked; nothing was changed"
NO_PASSPHRASE = ("no passphrase: set {env}, give it on standard input (one line), or run in a terminal; "
                 "nothing was changed")
EMPTY_LINE = "the passphrase read from standard input is empty; nothing was changed"
PASSPHRASES_DIFFER = "the two passphrases differ; nothing was changed"
# After a wrong passphrase: however often one is tried, nothing is deleted, and nothing but starting over helps when
# it is forgotten (governance.starting_over).
FORGOTTEN_NOTE = ("note: if the passphrase is forgotten, no one can recover it (there is no recovery key): a key file, "
                  "if one was made, opens the store too (--key-file); without either, `unveil family start-over` sets "
                  "this store aside unopened and makes a new, empty one (README: \"A forgotten passphrase\")")


class PassphraseInputError(UnveilError):
    """No usable passphrase was given: a usage error (exit status 2), not a failure of the store."""


def _passphrase(prompt: str, env: str) -> str:
    """From `env`, else a line of standard input when it is not a terminal, else typed without echo."""
    if env in os.environ:
        if not os.environ[env]:
            raise PassphraseInputError(EMPTY_ENV.format(env=env))
        return os.environ[env]
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise PassphraseInputError(NO_PASSPHRASE.format(env=env))
        if not line.rstrip("\r\n"):
            raise PassphraseInputError(EMPTY_LINE)
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help=f"store folder (default: $UNVEIL_DATA_DIR or {default_data_dir()})")
    parser.add_argument("--key-file", default=None,
                        help=f"unlock with this 0600 key file instead of the passphrase (${PASSPHRASE_ENV} or a prompt)")


def read_passphrase(prompt: str = "Passphrase: ") -> str:
    return _passphrase(prompt, PASSPHRASE_ENV)


def read_new_passphrase(env: str = PASSPHRASE_ENV) -> str:
    """A new passphrase: from `env` or standard input as read_passphrase, or typed twice in a terminal."""
    if env in os.environ or not sys.stdin.isatty():
        return _passphrase("New passphrase: ", env)
    first = getpass.getpass("New passphrase: ")
    if first != getpass.getpass("Repeat it: "):
        raise UnveilError(PASSPHRASES_DIFFER)
    return first


_WARNED_EXPOSED: set[str] = set()  # the data folders this run has warned of: once each, whatever opens them


def _warn_if_others_can_write(store: FamilyStore) -> None:
    """Say on stderr, once a run, that other users can write the store's folder or one above it
    (fer_core.store.OTHERS_CAN_WRITE_WARNING). The store is opened all the same: refusing would lock the household
    out of its own data."""
    exposed = others_can_write(store.data_dir)
    if exposed is not None and str(exposed.folder) not in _WARNED_EXPOSED:
        _WARNED_EXPOSED.add(str(exposed.folder))
        print(f"warning: {exposed.warning()}", file=sys.stderr)


_WARNED_FOLDER: set[str] = set()  # the data folders this run has warned of: once each


def warn_of_folder(store: FamilyStore) -> None:
    """Say on stderr, once a run, what puts the store in its folder at risk: a file system held in memory (gone at
    the next restart) or a network one (SQLite's locks and WAL unreliable), fer_core.store.MEMORY_FILE_SYSTEM_WARNING
    and NETWORK_FILE_SYSTEM_WARNING; copies of its files beside it that erasure does not reach (a cloud client's
    conflicted copies), STRAY_COPIES_WARNING. The store is opened all the same, so that it can be backed up and
    moved, and nothing is deleted."""
    if str(store.data_dir) in _WARNED_FOLDER:
        return
    _WARNED_FOLDER.add(str(store.data_dir))
    mounted = file_system(store.data_dir)
    if mounted is not None and (warning := mounted.warning(store.data_dir)) is not None:
        print(f"warning: {warning}", file=sys.stderr)
    if copies := stray_copies(store.data_dir):
        names = ", ".join(shown(name) for name in copies)
        print(f"warning: {STRAY_COPIES_WARNING.format(data_dir=store.data_dir, names=names)}", file=sys.stderr)


def open_locked(args: argparse.Namespace) -> FamilyStore:
    store = FamilyStore(args.data_dir)
    _warn_if_others_can_write(store)
    warn_of_folder(store)
    return store


def unlock_secret(args: argparse.Namespace) -> dict[str, str]:
    """What unlocks the store, as FamilyStore.unlock takes it: --key-file when given, else the passphrase
    (read_passphrase: $UNVEIL_PASSPHRASE or a prompt)."""
    return {"key_file": args.key_file} if args.key_file else {"passphrase": read_passphrase()}


def open_unlocked(args: argparse.Namespace, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> FamilyStore:
    store = FamilyStore(args.data_dir, busy_timeout=busy_timeout)
    _warn_if_others_can_write(store)
    warn_of_folder(store)
    try:
        store.unlock(**unlock_secret(args))
    except BaseException:
        store.close()
        raise
    return store


def unlocks_unattended(args: argparse.Namespace) -> bool:
    """Whether a command that runs unattended can unlock the store without a prompt: --key-file or $UNVEIL_PASSPHRASE
    given (nobody is there to type it)."""
    return bool(args.key_file or os.environ.get(PASSPHRASE_ENV))


def open_unlocked_unattended(args: argparse.Namespace, *,
                             busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> FamilyStore | None:
    """For a command that runs unattended (`unveil watch`, `unveil serve`): the store unlocked with
    --key-file or $UNVEIL_PASSPHRASE, or None when neither is given (unlocks_unattended)."""
    if not unlocks_unattended(args):
        return None
    return open_unlocked(args, busy_timeout=busy_timeout)


UNREADABLE_MEMBER = "the member {person_id} (their name cannot be read)"


def member_to_erase(store: FamilyStore, who: str) -> tuple[str, str]:
    """The id of the member to erase (`who`: their name or id) and how the prompt names them. Given an id, a member
    whose name or rows are damaged is still erased (`unveil family check` lists their ids): by `family purge`, and by
    `consent withdraw`, which refused them while the name it read for its prompt failed authentication."""
    person_id = family.resolve_id(store, who)
    try:
        return person_id, store.person(person_id).name
    except (TamperedDataError, KeyDestroyedError):
        return person_id, UNREADABLE_MEMBER.format(person_id=person_id)


def print_receipt(text: str) -> None:
    """Print a deletion receipt's JSON, synced to the disk when stdout is a file (`unveil family purge NAME >
    receipt.json`): the erasure is on the disk when the command returns, and a power cut right after left its receipt
    an empty file."""
    print(text)
    sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):  # no descriptor (stdout replaced in-process)
        if stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode):  # a terminal or a pipe holds nothing to sync
            os.fsync(sys.stdout.fileno())


def confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question} Refused: not confirmed (pass --yes to confirm non-interactively).", file=sys.stderr)
        return False
    # stderr, as the refusal: stdout is the command's result (purge's receipt), which `> receipt.json` saves for
    # `unveil audit receipt`, and the question must show in the terminal, not in that file.
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


# Said when Ctrl-C, SIGTERM or SIGHUP stopped a command (exit status 130).
INTERRUPTED = "interrupted; nothing more was changed"
# Said when one came during a change that finish_before_stopping protects: the command went on to its end first.
FINISHED_BEFORE_STOPPING = ("interrupted: the change under way was finished first, and is said above; nothing more was "
                            "changed")
EXIT_INTERRUPTED = 130
# Stop a command as Ctrl-C (SIGINT) does: `kill`, `timeout`, systemd, `docker stop` (SIGTERM), the terminal closed or
# the SSH session lost (SIGHUP). Their default ended the process at once: no cleanup ran, so a backup or restore left
# its hidden .unveil-*-partial-* folder (a copy of the store) behind, and in a container (PID 1) SIGTERM did nothing.
# Windows has no SIGHUP: naming it there failed every command with an AttributeError.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# The signals received during finish_before_stopping, held until the command ends.
_held: list[int] = []


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _hold(signum: int, frame: object) -> None:
    _held.append(signum)


@contextlib.contextmanager
def stop_signals_to(handler: Callable[[int, Any], None], signums: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """`handler` for each of `signums` (of this platform: Windows has no SIGHUP) while the block runs, the handlers
    before put back after. One ignored stays so: `nohup` ignores SIGHUP, a shell's background job SIGINT, and a
    command started so is meant to outlive its terminal. From the main thread only (Python takes signals there)."""
    previous = {signum: action for signum in signums
                if (action := signal.getsignal(signum)) not in (signal.SIG_IGN, None)}
    for signum in previous:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def finish_before_stopping() -> None:
    """From here to the command's end, Ctrl-C, SIGTERM and SIGHUP wait for it to end (then FINISHED_BEFORE_STOPPING,
    exit status 130). For a change that goes on after its commit (the store's files scrubbed): interrupted there, it
    was made all the same but said not to be ("nothing more was changed"). So an erasure lost its receipt, which
    nothing gives again; a passphrase change (--rotate) left the old passphrase believed to open the store; starting
    over stopped with the old store set aside and no new one. Called after the last question, so that Ctrl-C at a
    prompt still cancels."""
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) == _stop:
            signal.signal(signum, _hold)


def reports_errors(handler: Callable[[argparse.Namespace], int] | None = None, *,
                   signals: bool = True) -> Callable[..., Callable[[argparse.Namespace], int]]:
    """Unveil's typed errors become `error: <message>` on stderr and exit status 1 (2 for a missing or
    empty passphrase, a usage error), never a traceback. Ctrl-C, SIGTERM and SIGHUP stop the command as Ctrl-C
    does, its cleanup run (INTERRUPTED, exit status 130); `signals=False` leaves them to a command that handles them
    itself (`unveil serve`: uvicorn stops gracefully, then ends by the signal, as a service manager expects)."""
    if handler is None:
        return functools.partial(reports_errors, signals=signals)

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        handles = signals and threading.current_thread() is threading.main_thread()
        _held.clear()
        try:
            with stop_signals_to(_stop) if handles else contextlib.nullcontext():
                code = handler(args)
        except PassphraseInputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except UnveilError as exc:
            print(f"error: {exc}", file=sys.stderr)
            if isinstance(exc, WrongPassphraseError):
                print(FORGOTTEN_NOTE, file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            _say_interrupted(INTERRUPTED)
            return EXIT_INTERRUPTED
        if _held:
            _say_interrupted(FINISHED_BEFORE_STOPPING)
            return EXIT_INTERRUPTED
        return code
    return run


def _say_interrupted(message: str) -> None:
    # After SIGHUP the terminal may be gone (EIO): the cleanup has run, and nobody is left to read the line.
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr)
