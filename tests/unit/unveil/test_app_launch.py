"""`unveil app` and `streamlit run app.py` run with the same privacy settings."""
from __future__ import annotations

import tomllib

from tests.support.paths import REPO
from unveil.app import launch


def test_the_checkout_config_says_what_unveil_app_passes():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    flat = {f"{section}.{name}": value for section, options in config.items() for name, value in options.items()}
    assert flat == launch.SETTINGS


def test_every_setting_is_a_flag_of_the_streamlit_command():
    argv = launch.streamlit_argv(port=8600, headless=True)
    assert argv[:3] == ["streamlit", "run", str(launch.ENTRY_SCRIPT)] and launch.ENTRY_SCRIPT.is_file()
    assert "--browser.gatherUsageStats=false" in argv and "--server.address=localhost" in argv
    assert {"--server.port=8600", "--server.headless=true"} <= set(argv)
    assert len(argv) == 3 + len(launch.SETTINGS) + 2
