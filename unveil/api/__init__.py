"""`unveil serve`: a local REST API for home automation (Home Assistant, Node-RED, scripts).

    app = create_app(settings=ApiSettings(token=...), store=None)   # FastAPI application
    # GET /v1/health, POST /v1/analyze, GET /v1/people; the OpenAPI description at /openapi.json

Every request needs `Authorization: Bearer TOKEN` and a Host header naming this machine (421 otherwise) (`token.load_or_create`). Photos are analysed in
memory and nothing is written per request; recognitions are counted in the audit log as the app does.
Enrolment and erasure are not offered here: they stay in the app and the CLI, where consent is recorded.
"""
from unveil.api._app import (
    BODY_TOO_LARGE,
    BODY_TOO_SLOW,
    BUSY,
    BUSY_RETRY_AFTER_S,
    DEFAULT_ANALYSES_AT_ONCE,
    DEFAULT_ANALYSES_WAITING,
    DEFAULT_BODY_TIMEOUT_S,
    HOST_NOT_ALLOWED,
    LOOPBACK_HOSTS,
    MAX_PIXELS_OVER_PILLOW,
    SETTING_OUT_OF_RANGE,
    STORE_DAMAGED,
    STORE_FOLDER,
    STORE_KEY_CHANGED,
    STORE_LOCKED,
    STORE_UNAVAILABLE,
    UNAUTHORIZED,
    ApiSettings,
    SettingsError,
    create_app,
)
from unveil.api._multipart import MAX_PARTS, NO_IMAGE, SEVERAL_IMAGES, TOO_MANY_PARTS
from unveil.api._server import INVALID_HTTP, REQUEST_HEAD_TIMEOUT_S, HeadDeadlineProtocol
from unveil.api._token import (
    TOKEN_ENV,
    TOKEN_ENV_SHORT,
    TOKEN_FILE,
    TOKEN_FILE_EMPTY,
    TOKEN_FILE_LINK,
    TOKEN_FILE_NOT_CREATED,
    TOKEN_FILE_NOT_FILE,
    TOKEN_FILE_OPEN,
    TOKEN_FILE_OWNER,
    TOKEN_FILE_SHORT,
    TOKEN_FILE_UNREADABLE,
    TOKEN_MIN_CHARS,
    TokenFileError,
    load_or_create,
)

__all__ = [
    "BODY_TOO_LARGE",
    "BODY_TOO_SLOW",
    "BUSY",
    "BUSY_RETRY_AFTER_S",
    "DEFAULT_ANALYSES_AT_ONCE",
    "DEFAULT_ANALYSES_WAITING",
    "DEFAULT_BODY_TIMEOUT_S",
    "HOST_NOT_ALLOWED",
    "LOOPBACK_HOSTS",
    "MAX_PARTS",
    "MAX_PIXELS_OVER_PILLOW",
    "SETTING_OUT_OF_RANGE",
    "NO_IMAGE",
    "REQUEST_HEAD_TIMEOUT_S",
    "SEVERAL_IMAGES",
    "STORE_DAMAGED",
    "STORE_FOLDER",
    "STORE_KEY_CHANGED",
    "STORE_LOCKED",
    "STORE_UNAVAILABLE",
    "TOKEN_ENV",
    "TOKEN_ENV_SHORT",
    "TOKEN_FILE",
    "TOKEN_FILE_EMPTY",
    "TOKEN_FILE_LINK",
    "TOKEN_FILE_NOT_CREATED",
    "TOKEN_FILE_NOT_FILE",
    "TOKEN_FILE_OPEN",
    "TOKEN_FILE_OWNER",
    "TOKEN_FILE_SHORT",
    "TOKEN_FILE_UNREADABLE",
    "TOKEN_MIN_CHARS",
    "TOO_MANY_PARTS",
    "UNAUTHORIZED",
    "ApiSettings",
    "HeadDeadlineProtocol",
    "INVALID_HTTP",
    "SettingsError",
    "TokenFileError",
    "create_app",
    "load_or_create",
]
