"""Recognition counts of a long-running front end, summed per period: one "recognise" audit entry (and one "last
seen" write) a period, not one per photo.

`unveil serve` answers a home automation that may post a camera snapshot every 2 s: counted per photo (as
family.count_recognitions does), that wrote about 190 bytes of audit log a photo, 8 MB a day, 3 GB a year on what may
be an SD card, all of it read by `unveil audit verify`. A RecognitionTally sums the counts in memory and writes them at
most once per `period_s` (on the store's clock) in one transaction: the members named are marked seen, and the log
gets one entry with the summed counts (faces, named, unknown: counts only, never who) and the seconds they cover.
`flush()` writes what is counted at once (at the server's shutdown); `running()` flushes in a background thread
when a period is due, so counts wait at most about one period even when no more photos come. A process killed
loses what it counted since its last write: at most about one period.

`unveil serve`, `unveil watch` and the app's Live page count through one; watch's camera and the Live page's stream
name each face once per appearance (a person coming into view, or named later in their visit), and a household camera
sees many appearances an hour (docs/reports/audit_log_growth.md).

It never raises from `count` or `flush`: a store error must not fail the request or stop the camera that counted.
Busy (another session holds the write lock) or a full disk: the counts are kept and written at the next flush. Locked (the master
key replaced in another session: this session can write nothing more until it is unlocked again): the counts are
dropped with one warning, and so are later ones, without a word, while the store stays locked. Any other error: the
counts are dropped with a warning. Warnings give the counts and the error's kind only.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

from fer_core.store import FamilyStore, StoreBusyError, StoreFullError, StoreLockedError
from governance import family
from governance._repeating import repeating

log = logging.getLogger("unveil.recognition")

# Seconds of recognitions summed into one "recognise" entry.
DEFAULT_PERIOD_S = 60.0
# How often the background thread looks whether a period is due (at most; less when the period is shorter).
CHECK_S = 5.0

KEPT = "recognition counts: the family store is busy in another session; {faces} faces kept for the next write"
DROPPED = ("recognition counts: {faces} faces ({named} named) were not logged: {reason}")
LOCKED = ("the store's master key was replaced in another session; later ones are not logged either until the store is "
          "unlocked again")
AT_EXIT = "the store was busy in another session when this process stopped"
# A full disk is kept for the next write as a busy store is: the camera runs on, and once space is freed the counts
# of the whole time are logged; dropped, every recognition made meanwhile would be missing from the audit log.
FULL = ("recognition counts: the disk holding the family store is full; {faces} faces kept for the next write (free "
        "some space so that they can be logged)")
AT_EXIT_FULL = "the disk holding the store was full when this process stopped"


class RecognitionTally:
    """Recognitions counted in memory and written to `store` at most once per `period_s` seconds of the store's
    clock (0: at once, as family.count_recognitions). Safe to call from several threads."""

    def __init__(self, store: FamilyStore, *, period_s: float = DEFAULT_PERIOD_S) -> None:
        self._store, self._period_s = store, float(period_s)
        self._lock = threading.Lock()
        self._faces = self._named = 0
        self._seen: set[str] = set()
        self._since: float | None = None  # when the first count not yet written came, on the store's clock
        self._last_seen: float | None = None  # when the last one came: the members' "last seen" time
        # When counts were last written (or tried), on the store's clock: the first period starts with the tally.
        self._written: float | None = store.now()
        self._locked = False  # a write met the store locked (LOCKED said): counts are dropped while it stays so
        self._kept_because = AT_EXIT  # why the counts kept for the next write were not written (AT_EXIT or AT_EXIT_FULL)

    @property
    def pending(self) -> tuple[int, int]:
        """(faces, named) counted and not yet written."""
        with self._lock:
            return self._faces, self._named

    def count(self, person_ids: Sequence[str | None]) -> None:
        """After faces were compared with the gallery (one entry per face: the member's id its match carries, or None
        for "unknown"), as family.count_recognitions takes them. Writes when a period is due."""
        named = {pid for pid in person_ids if pid}
        with self._lock:
            if self._locked and not self._store.is_unlocked:
                return
            self._locked = False
            now = self._store.now()
            self._faces += len(person_ids)
            self._named += len(named)
            self._seen |= named
            self._since = now if self._since is None else self._since
            self._last_seen = now
        self.flush(due_only=True)

    def flush(self, *, due_only: bool = False) -> bool:
        """Write what is counted now (with `due_only`, only when `period_s` has passed since the last write); whether
        an entry was written. Never raises. The counts are taken out under the lock and written outside it, so that
        requests counting meanwhile do not wait for the store."""
        with self._lock:
            if not self._faces:
                return False
            now = self._store.now()
            if due_only and self._written is not None and 0 <= now - self._written < self._period_s:
                return False
            self._written = now
            faces, named, seen, since, last_seen = self._faces, self._named, self._seen, self._since, self._last_seen
            self._faces = self._named = 0
            self._seen, self._since, self._last_seen = set(), None, None
        covered = max(0, round(now - since)) if since is not None else 0
        try:
            family.note_recognition(self._store, sorted(seen), faces=faces, named=named, seen_at=last_seen,
                                    period_s=covered)
            return True
        except (StoreBusyError, StoreFullError) as exc:
            full = isinstance(exc, StoreFullError)
            with self._lock:  # put back, with what was counted meanwhile, for the next write
                self._faces, self._named, self._seen = self._faces + faces, self._named + named, self._seen | seen
                self._since = since if self._since is None else min(since, self._since)
                self._last_seen = last_seen if self._last_seen is None else max(last_seen, self._last_seen)
                self._kept_because = AT_EXIT_FULL if full else AT_EXIT
            log.warning((FULL if full else KEPT).format(faces=faces))
        except StoreLockedError:  # MasterKeyChangedError too: this session can write nothing more
            with self._lock:
                self._locked = True
            log.warning(DROPPED.format(faces=faces, named=named, reason=LOCKED))
        except Exception as exc:  # the kind only: a message may quote the store's folder
            log.warning(DROPPED.format(faces=faces, named=named, reason=type(exc).__name__))
        return False

    @contextlib.contextmanager
    def running(self) -> Iterator[RecognitionTally]:
        """A background thread that writes the counts when a period is due until the block ends; then what is left
        is written (a clean shutdown loses nothing)."""
        flushing = (repeating(lambda: self.flush(due_only=True), every_s=min(CHECK_S, self._period_s),
                              name="unveil-recognition-counts") if self._period_s > 0 else contextlib.nullcontext())
        try:
            with flushing:
                yield self
        finally:
            if not self.flush() and self._faces:  # still busy: nothing comes after this to write them
                log.warning(DROPPED.format(faces=self._faces, named=self._named, reason=self._kept_because))
