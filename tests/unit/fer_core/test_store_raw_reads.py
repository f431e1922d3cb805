"""scrub() reads keys.db's bytes to check that a destroyed key left them, without dropping SQLite's locks: it read
them with read_bytes(), whose close() drops every POSIX lock this process holds on the file. After a purge in a
session that runs on (the app, `unveil watch`, `unveil serve`), any other process that opened and closed the store
(`unveil family list`) took itself for the last one and deleted keys.db-wal; the keys the long-running session
committed afterwards went to the deleted file: a member it enrolled then had rows but no data key for every other
process, and would have lost it in a crash (found by benchmarks/live_copy.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fer_core.store import KEYS_FILE
from governance import erasure
from tests.support import privacy_harness as h

ROOT = Path(__file__).resolve().parents[3]


def _in_another_process(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_key_committed_after_a_purge_is_seen_by_other_processes(tmp_path):
    with h.new_store(tmp_path) as store:
        h.enrol(store, "Ana Lima")
    with h.open_store(tmp_path) as store:
        assert erasure.purge_person(store, store.find_person("Ana Lima").id).storage_scrubbed
        _in_another_process(f"from fer_core.store import FamilyStore; FamilyStore({str(tmp_path)!r}).close()")
        assert (tmp_path / f"{KEYS_FILE}-wal").exists()  # the other process knew it was not the last
        h.enrol(store, "Ben Okafor")
        seen = _in_another_process(
            "from pathlib import Path; from tests.support import privacy_harness as h\n"
            f"with h.open_store(Path({str(tmp_path)!r})) as other:\n"
            "    print([d.message for d in other.check()], [p.name for p in other.people()])")
    assert seen == "[] ['Ben Okafor']"
