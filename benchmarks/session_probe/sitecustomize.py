"""What the app's Streamlit process holds of its sessions, for benchmarks/app_session_keys.py.

Python imports `sitecustomize` at start from the first folder on its path that has one: app_session_keys.py puts this
folder first on the Streamlit process's PYTHONPATH and names a file in UNVEIL_SESSION_PROBE. Every second a daemon
thread appends one JSON line to it:

    t                 seconds since the probe started
    sessions_active   Streamlit sessions with a connected WebSocket (a tab open)
    sessions_stored   disconnected sessions Streamlit still holds for a reconnection (its storage's entries, also
                      those past their TTL that nothing has removed yet)
    stores_unlocked   FamilyStore objects that hold a master key (gc.get_objects(), after a full collection)
    app_sessions      Streamlit AppSession objects still referenced (the same way): a session's state, with the
                      app's photos and results, lives as long as its AppSession

Nothing of a store's contents is read: is_unlocked only says whether a key is held. Does nothing without
UNVEIL_SESSION_PROBE.
"""
import os


def _probe(out: str) -> None:
    import gc
    import json
    import sys
    import threading
    import time

    def sessions() -> tuple[int, int]:
        # Never imported from here: an import racing the server's own, at its start, broke it.
        runtime = getattr(getattr(sys.modules.get("streamlit.runtime.runtime"), "Runtime", None), "_instance", None)
        manager = getattr(runtime, "_session_mgr", None)
        if manager is None:  # the server not started yet, or its Runtime still being made
            return 0, 0
        # The storage's raw entries: its len() and list() would remove the expired ones, which only a write does in use.
        return len(manager._active_session_info_by_id), len(manager._session_storage._cache._data)

    def loop() -> None:
        started = time.monotonic()
        while True:
            time.sleep(1.0)
            gc.collect()
            unlocked = sum(1 for obj in gc.get_objects() if type(obj).__name__ == "FamilyStore" and obj.is_unlocked)
            app_sessions = sum(1 for obj in gc.get_objects() if type(obj).__name__ == "AppSession")
            active, stored = sessions()
            line = {"t": round(time.monotonic() - started, 1), "sessions_active": active, "sessions_stored": stored,
                    "stores_unlocked": unlocked, "app_sessions": app_sessions}
            with open(out, "a") as file:
                file.write(json.dumps(line) + "\n")

    threading.Thread(target=loop, name="unveil-session-probe", daemon=True).start()


if os.environ.get("UNVEIL_SESSION_PROBE"):
    _probe(os.environ["UNVEIL_SESSION_PROBE"])
