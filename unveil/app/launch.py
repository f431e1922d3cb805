"""`unveil app`: start the Streamlit app with Unveil's privacy settings, wherever Unveil is installed.

`streamlit run app.py` in a checkout reads the same settings from .streamlit/config.toml; Streamlit
reads that file only from the folder it is started in, so an installed Unveil passes them as flags.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unveil._core_dumps import forbid_core_dumps

ENTRY_SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"

# The settings the app runs with, as Streamlit's "section.option" names (tests/ checks that
# .streamlit/config.toml says the same).
SETTINGS: dict[str, object] = {
    # No usage statistics leave the browser.
    "browser.gatherUsageStats": False,
    # The one address the start-up banner names (Streamlit's default, set so that it counts as chosen). Started with
    # --server.address 0.0.0.0, Streamlit otherwise printed a "Network URL" that no other device's browser gets past
    # (server.allowedHosts, unveil.app.peer) and, headless, asked checkip.amazonaws.com for the public IP to print.
    "browser.serverAddress": "localhost",
    # An error no page foresaw shows its type and Streamlit's note that the message is in the log, not the message
    # and the traceback (Streamlit's "full"): either can hold a member's name, a photo's file name or a path, on a
    # screen that may be shared. The pages' own errors already say no more (widgets.friendly_errors).
    "client.showErrorDetails": "type",
    "client.toolbarMode": "viewer",
    # Listen on this machine only, not the local network. A specific address also stops Streamlit from
    # asking an outside service (checkip.amazonaws.com) for the machine's public IP at start.
    "server.address": "localhost",
    # The app's WebSocket answers only requests addressed to this machine by name or loopback address (the Host
    # header). Streamlit accepts any Host by default, so a page on evil.example whose name was made to resolve
    # to 127.0.0.1 (DNS rebinding) was same-origin with the app and drove a session of it from the household's
    # browser. Ports are not compared; "::1" is "[::1]" in a URL.
    "server.allowedHosts": ["localhost", "127.0.0.1", "::1"],
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


def _flags(name: str, value: object) -> list[str]:
    """`--name=value`, once per item for a list (Streamlit's options that take several values)."""
    values = value if isinstance(value, list) else [value]
    return [f"--{name}={_flag_value(item)}" for item in values]


def _no_public_address() -> None:
    """This app's public IP address: never looked up (None), since the app listens on localhost only."""
    return None


def never_look_up_the_public_address() -> None:
    """Stop Streamlit from asking checkip.amazonaws.com for this machine's public IP address.

    Streamlit checks a WebSocket's Origin against a list whose last entry is that address, looked up when an
    Origin matches nothing before it: any web page the household opened could call
    `new WebSocket("ws://localhost:8501/_stcore/stream")` and make the app contact Amazon over HTTP and HTTPS.
    The lookup (two requests of up to 1 s) blocks Streamlit's event loop and is not kept when it fails: with
    the requests held up (a proxy that answered nothing, standing for a slow network), three such attempts
    froze every session of the app for 5.9 s, and a page repeating them would keep it frozen. Streamlit has no
    setting for this; the app never needs the address (server.address is set, so its banner shows the Local
    URL only). Called before the server starts (run_app) and by the pages (for `streamlit run app.py`)."""
    from streamlit import net_util

    net_util.get_external_ip = _no_public_address


# What the app's files of a session (pictures of faces, results naming members) are served with: kept by no cache.
NO_STORE = "no-store"


def media_never_cached() -> None:
    """Serve every file Streamlit holds in a session's memory (`/media/...`: the photos with their boxes, the
    explanations' heatmaps, every download: annotated PNG, CSV and JSON of results, receipts) with
    `Cache-Control: no-store`.

    Streamlit sends them with no Cache-Control, and a browser then keeps them in its disk cache: after one photo
    analysed in Chromium, its profile's Cache_Data held the page's picture of the faces, the annotated PNG (under its
    URL and a Content-Disposition naming the photo's file) and the CSV and JSON of the results, although the app
    says photos are never saved. `no-store` keeps them out of every cache; the browser still shows and downloads
    them. Streamlit has no setting for it: every one of its routes that answers with a file of a session calls
    `_set_cors_headers` on the response (looked up at each call), so the header is added there, for media paths only.
    Idempotent; called before the server starts (run_app) and by the pages (for `streamlit run app.py`, whose
    first media file is made by a run of the pages)."""
    import functools

    from streamlit.web.server.starlette import starlette_routes

    original = starlette_routes._set_cors_headers
    if getattr(original, "unveil_no_store", False):
        return
    media = f"/{starlette_routes.BASE_ROUTE_MEDIA}/"

    @functools.wraps(original)
    async def with_no_store(request, response) -> None:
        await original(request, response)
        if media in request.url.path:
            response.headers["Cache-Control"] = NO_STORE

    with_no_store.unveil_no_store = True
    starlette_routes._set_cors_headers = with_no_store


def pages_through_the_router() -> None:
    """Every page of `unveil app` runs through the entry script (unveil.app.router), from a fresh server's first
    request on.

    ENTRY_SCRIPT lies beside unveil/app/pages/, so Streamlit takes it for an app of the older kind, whose files in
    pages/ are run directly when their address is asked for, until a run of the entry script calls st.navigation
    (a flag kept for the whole process). A fresh server's first visitor who asked for /family or /governance got
    the page without the router: none of its checks (whose browser it is, unveil.app.peer), no sidebar, no sweep;
    so did every request until someone opened the main page. `streamlit run app.py` has no pages/ beside it."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def streamlit_argv(*, port: int | None = None, headless: bool = False) -> list[str]:
    """Streamlit's command line for the app: `streamlit run ENTRY --option=value ...`."""
    argv = ["streamlit", "run", str(ENTRY_SCRIPT)]
    argv += [flag for name, value in SETTINGS.items() for flag in _flags(name, value)]
    if port is not None:
        argv.append(f"--server.port={port}")
    if headless:
        argv.append("--server.headless=true")
    return argv


def run_app(*, port: int | None = None, headless: bool = False, extra: Sequence[str] = ()) -> int:
    """Start the app in this process (blocks until it is stopped) and return Streamlit's exit status."""
    import sys

    from streamlit.web import cli as streamlit_cli

    never_look_up_the_public_address()  # the server runs in this process: patched before it starts
    media_never_cached()
    forbid_core_dumps()  # its sessions hold the store unlocked
    pages_through_the_router()
    sys.argv = [*streamlit_argv(port=port, headless=headless), *extra]
    try:
        streamlit_cli.main(prog_name="streamlit")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
