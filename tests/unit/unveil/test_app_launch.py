"""`unveil app` and `streamlit run app.py` run with the same privacy settings."""
from __future__ import annotations

import tomllib

from tests.support.paths import REPO
from unveil.app import launch


def _flat(options: dict, prefix: str = "") -> dict:
    """A TOML table as Streamlit's "section.option" names; nested tables ([theme.light]) give longer names."""
    flat = {}
    for name, value in options.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def test_the_checkout_config_says_what_unveil_app_passes():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert _flat(config) == launch.SETTINGS


def test_every_setting_is_a_flag_of_the_streamlit_command():
    argv = launch.streamlit_argv(port=8600, headless=True)
    assert argv[:3] == ["streamlit", "run", str(launch.ENTRY_SCRIPT)] and launch.ENTRY_SCRIPT.is_file()
    assert "--browser.gatherUsageStats=false" in argv and "--server.address=localhost" in argv
    assert {"--server.port=8600", "--server.headless=true"} <= set(argv)
    # An option of several values is given once per value, as Streamlit's command takes it.
    assert [flag for flag in argv if flag.startswith("--server.allowedHosts=")] == [
        "--server.allowedHosts=localhost", "--server.allowedHosts=127.0.0.1", "--server.allowedHosts=::1"]
    values = sum(len(value) if isinstance(value, list) else 1 for value in launch.SETTINGS.values())
    assert len(argv) == 3 + values + 2


def test_a_first_start_on_a_desktop_asks_for_no_email_and_writes_no_credentials_file(tmp_path, monkeypatch):
    # Streamlit's first start outside headless mode (a desktop: DISPLAY set) asks for an email address,
    # writes it to ~/.streamlit/credentials.toml and sends it to data.streamlit.io. Unveil's settings
    # must keep that prompt off whether or not the app runs headless.
    from streamlit import config
    from streamlit.runtime import credentials

    monkeypatch.setenv("HOME", str(tmp_path))
    options = {**launch.SETTINGS, "server.headless": False}
    real_get_option = config.get_option
    monkeypatch.setattr(config, "get_option", lambda key: options[key] if key in options else real_get_option(key))

    def prompted(self, *args, **kwargs):
        raise AssertionError("Streamlit asked for an email address")
    monkeypatch.setattr(credentials.Credentials, "_check_activated", prompted)

    credentials.check_credentials()
    assert not (tmp_path / ".streamlit").exists()


def test_an_error_no_page_foresaw_shows_neither_its_message_nor_its_traceback(monkeypatch):
    # Streamlit's default ("full") put the message, here a member's name and a path, and the stack in the page.
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    real_get_option = config.get_option
    monkeypatch.setattr(config, "get_option", lambda key: launch.SETTINGS[key] if key == "client.showErrorDetails"
                        else real_get_option(key))

    def page() -> None:
        raise RuntimeError("Ana Lima is not in /home/alice/Pictures")

    # AppTest's default of 3 s a run is a wall-clock limit: a loaded 2-core machine may pass it before the page runs.
    (shown,) = AppTest.from_function(page, default_timeout=60).run().exception
    assert "Ana Lima" not in shown.message and "alice" not in shown.message and shown.stack_trace == []


def test_unveil_app_runs_every_page_through_the_router_from_the_first_request(monkeypatch):
    # Beside unveil/app/pages/, Streamlit ran /family or /governance directly (the router, and its check of whose
    # browser it is, skipped) until a run of the entry script had called st.navigation.
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    assert (launch.ENTRY_SCRIPT.parent / "pages").is_dir()
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)  # as in a fresh process
    seen = []
    monkeypatch.setattr(streamlit_cli, "main", lambda **kwargs: seen.append(PagesManager.uses_pages_directory))
    monkeypatch.setattr("sys.argv", ["unveil"])
    monkeypatch.setattr(launch, "forbid_core_dumps", lambda: None)  # not for this test process
    assert launch.run_app(port=8600, headless=True) == 0
    assert seen == [False]


def _served_media(kind_name: str, mimetype: str, filename: str | None):
    """The answer of Streamlit's media route, as the app's server builds it, for one file held in memory."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient
    from streamlit.runtime.media_file_storage import MediaFileKind
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.web.server.starlette.starlette_routes import create_media_routes

    storage = MemoryMediaFileStorage("/media")
    file_id = storage.load_and_get_id(b"the faces of a household", mimetype, getattr(MediaFileKind, kind_name),
                                      filename)
    with TestClient(Starlette(routes=create_media_routes(storage, None))) as client:
        return client.get(storage.get_url(file_id))


def _unpatched(starlette_routes):
    """Streamlit's own _set_cors_headers, also after a test before this one started the app."""
    return getattr(starlette_routes._set_cors_headers, "__wrapped__", starlette_routes._set_cors_headers)


def test_the_pictures_and_downloads_of_a_session_are_kept_by_no_browser_cache(monkeypatch):
    # Streamlit served them without Cache-Control, and Chromium wrote the page's picture of the faces, the annotated
    # PNG and the CSV and JSON of results into its profile's disk cache.
    from streamlit.web.server.starlette import starlette_routes

    monkeypatch.setattr(starlette_routes, "_set_cors_headers", _unpatched(starlette_routes))  # put back after
    launch.media_never_cached()
    launch.media_never_cached()  # every run of the pages calls it: once is enough
    picture = _served_media("MEDIA", "image/jpeg", None)
    download = _served_media("DOWNLOADABLE", "image/png", "IMG_0042_annotated.png")
    assert picture.status_code == download.status_code == 200
    assert picture.headers["cache-control"] == download.headers["cache-control"] == launch.NO_STORE
    assert download.headers["content-disposition"] == 'attachment; filename="IMG_0042_annotated.png"'


def test_both_ways_of_starting_the_app_keep_its_files_out_of_caches(monkeypatch, app_env):
    from streamlit.web import cli as streamlit_cli
    from streamlit.web.server.starlette import starlette_routes

    from tests.support.app import run_app

    unpatched = _unpatched(starlette_routes)
    monkeypatch.setattr(starlette_routes, "_set_cors_headers", unpatched)
    monkeypatch.setattr(streamlit_cli, "main", lambda **kwargs: None)
    monkeypatch.setattr("sys.argv", ["unveil"])
    monkeypatch.setattr(launch, "forbid_core_dumps", lambda: None)
    launch.run_app(port=8600, headless=True)  # `unveil app`: before its server starts
    assert getattr(starlette_routes._set_cors_headers, "unveil_no_store", False)
    monkeypatch.setattr(starlette_routes, "_set_cors_headers", unpatched)
    assert not run_app("kept").exception  # `streamlit run app.py`: at every run of the pages, through the router
    assert getattr(starlette_routes._set_cors_headers, "unveil_no_store", False)
