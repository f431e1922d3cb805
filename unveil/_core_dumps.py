"""No core dump from the front ends that hold the family store unlocked for hours (`unveil serve`, `unveil watch`,
the app).

A core dump is the process's memory written to a file: the master key, the members' names and embeddings and,
from the environment, UNVEIL_PASSPHRASE and UNVEIL_MQTT_PASSWORD. The core file is 0600, but it stays on the disk
(in the folder the process ran in, or under /var/lib/systemd/coredump), where backups, a sync folder or a stolen
disk take it, unencrypted. Interactive shells usually start with a soft limit of 0, but a systemd service, a
`ulimit -c unlimited` or a distribution's default can raise it: `unveil serve` stopped by SIGSEGV so, with
UNVEIL_PASSPHRASE set, left a 226 MiB core holding the passphrase in clear (docs/threat_model.md). A soft limit of 0 stops the kernel writing a core
file, and systemd-coredump honours it for the dumps piped to it. The hard limit is left as it is: nothing in Unveil
raises the soft one again, and a hard limit of 0 could not be raised by the processes these start either (without
root's CAP_SYS_RESOURCE), a test suite that checks this among them. What it costs: a crash of these processes (a fault in a native library) leaves no core
to debug it with.
"""
from __future__ import annotations

try:
    import resource
except ImportError:  # Windows: no core dumps to limit
    resource = None  # type: ignore[assignment]


def forbid_core_dumps() -> None:
    """Set this process's soft core file size limit (RLIMIT_CORE) to 0; inherited by its children."""
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
