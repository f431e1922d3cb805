"""`unveil app`: start the Streamlit app with Unveil's privacy settings, wherever Unveil is installed.

`streamlit run app.py` in a checkout reads the same settings from .streamlit/config.toml; Streamlit
reads that file only from the folder it is started in, so an installed Unveil passes them as flags.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

ENTRY_SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"

# The settings the app runs with, as Streamlit's "section.option" names (tests/ checks that
# .streamlit/config.toml says the same).
SETTINGS: dict[str, object] = {
    # No usage statistics leave the browser.
    "browser.gatherUsageStats": False,
    "client.toolbarMode": "viewer",
    # Listen on this machine only, not the local network. A specific address also stops Streamlit from
    # asking an outside service (checkip.amazonaws.com) for the machine's public IP at start.
    "server.address": "localhost",
    # Uploads are held in memory; 200 MB (Streamlit's default) covers a short phone video.
    "server.maxUploadSize": 200,
    # No "Welcome to Streamlit" email prompt at the first start on a desktop (not headless): it writes
    # ~/.streamlit/credentials.toml and sends the address typed to data.streamlit.io.
    "server.showEmailPrompt": False,
    # Text black instead of Streamlit's #2f2d2b in the light theme: Streamlit draws captions in the text colour
    # at 60%, which came out #828180 on white, 3.9:1, under the 4.5:1 that people with low vision need (WCAG 2
    # AA); from black it is #666666, 5.7:1. A browser that prefers the dark theme still gets it (its captions pass).
    "theme.light.textColor": "#000000",
}


def _flag_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def streamlit_argv(*, port: int | None = None, headless: bool = False) -> list[str]:
    """Streamlit's command line for the app: `streamlit run ENTRY --option=value ...`."""
    argv = ["streamlit", "run", str(ENTRY_SCRIPT)]
    argv += [f"--{name}={_flag_value(value)}" for name, value in SETTINGS.items()]
    if port is not None:
        argv.append(f"--server.port={port}")
    if headless:
        argv.append("--server.headless=true")
    return argv


def run_app(*, port: int | None = None, headless: bool = False, extra: Sequence[str] = ()) -> int:
    """Start the app in this process (blocks until it is stopped) and return Streamlit's exit status."""
    import sys

    from streamlit.web import cli as streamlit_cli

    sys.argv = [*streamlit_argv(port=port, headless=headless), *extra]
    try:
        streamlit_cli.main(prog_name="streamlit")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
