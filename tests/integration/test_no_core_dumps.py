"""The front ends that hold the family store unlocked for hours leave no core dump (unveil._core_dumps): their
memory holds the master key, and their environment UNVEIL_PASSPHRASE."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.app import free_port
from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(not Path("/proc/self/limits").is_file(), reason="reads /proc/PID/limits (Linux)")


def _core_limit(pid: int) -> str:
    """The soft limit on the 'Max core file size' line of /proc/PID/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4]
    raise AssertionError(f"no core limit for {pid}")


def _cores_allowed() -> None:
    # In the child, before it runs: core dumps allowed, as for a systemd service or after `ulimit -c unlimited`.
    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


@pytest.mark.parametrize("command", [
    ["serve", "--port", "{port}"],
    ["watch", "--source", "99", "--jsonl", "-"],  # no camera 99: it tries again and again, with backoff
    ["app", "--headless", "--port", "{port}"],
])
def test_the_long_running_commands_leave_no_core_dump(command, tmp_path, app_models_dir):
    argv = [part.format(port=free_port()) for part in command]
    env = {**os.environ, "UNVEIL_DATA_DIR": str(tmp_path / "data"), "UNVEIL_MODELS_DIR": str(app_models_dir),
           "UNVEIL_API_TOKEN": "a-token-for-this-test-only", "HOME": str(tmp_path)}
    env.pop("UNVEIL_PASSPHRASE", None)
    process = subprocess.Popen([sys.executable, "-m", "unveil.cli", *argv], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_cores_allowed)
    try:
        if _core_limit(process.pid) == "0":
            pytest.skip("core dumps cannot be allowed here: the hard limit is 0")
        deadline = time.monotonic() + 120
        while _core_limit(process.pid) != "0":
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "the core limit was never set to 0"
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()


def test_the_app_page_script_forbids_core_dumps_too(app_env):
    # `streamlit run app.py` starts Streamlit's server, not `unveil app`: the page script sets the limit at its first
    # run, before any page can unlock the store.
    from streamlit.testing.v1 import AppTest

    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if hard == 0:
        pytest.skip("the hard core limit is 0: nothing to tell apart")
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    try:
        assert not AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run().exception
        assert resource.getrlimit(resource.RLIMIT_CORE) == (0, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
