"""The FastAPI application of `unveil serve`: routes, bearer-token check, bounded uploads, JSON errors."""
from __future__ import annotations

import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException

from fer_core import FaceAnalyzer, Gallery, ImageError, ImageTooLargeError, UnveilError, load_image
from fer_core.analyzer import identify
from fer_core.images import MAX_PIXELS
from fer_core.render import face_records
from fer_core.store import (
    FamilyStore,
    KeyDestroyedError,
    StoreCorruptError,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    TamperedDataError,
)
from governance import family
from unveil.api._multipart import MultipartError, image_from_multipart

# Uploads larger than this are refused before they are read whole: a 50 MP phone JPEG is 15-25 MB.
DEFAULT_MAX_BODY_BYTES = 25 * 1024**2
# At most this many photos are analysed at once; more requests wait their turn. The ONNX Runtime
# sessions are thread-safe, but each analysis already uses every core and holds its photo decoded
# (up to 12 bytes a pixel while detecting), so running more at once only adds memory, not speed.
DEFAULT_ANALYSES_AT_ONCE = 2

UNAUTHORIZED = "a valid 'Authorization: Bearer TOKEN' header is required"
BODY_TOO_LARGE = "the request body is over the {limit_mb:g} MB limit; nothing was analysed"
UNSUPPORTED_TYPE = ("send the photo as multipart/form-data (field 'image') or as raw bytes with an image/* or "
                    "application/octet-stream Content-Type; got {content_type!r}")
STORE_LOCKED = ("the family store is not unlocked for this server (start it with UNVEIL_PASSPHRASE or --key-file "
                "to list members)")
STORE_UNAVAILABLE = "the family store cannot be used now: {reason}"
# The store locks this server's session when another session replaces its master key (a rotation): its keys
# no longer open anything, so only a restart with the new passphrase helps, not a retry.
STORE_KEY_CHANGED = ("the family store's master key was replaced in another session (unveil family passwd --rotate): "
                     "restart unveil serve with the new passphrase or key file; retrying will not help")
STORE_DAMAGED = ("the family store cannot be read, so no face can be named and no photo is analysed (a reply without "
                 "names would pass family members off as strangers): {reason}")
MAX_PIXELS_OVER_PILLOW = ("max_pixels {max_pixels:,} is over the {limit:,} pixels Pillow opens (PIL.Image.MAX_IMAGE_PIXELS, "
                          "its decompression-bomb limit), so photos under it would still be refused; set at most "
                          "{limit:,}")
UPLOAD_NAME = "upload"
# Store errors that retrying will not cure: the file needs `unveil family check` and a restore.
_DAMAGE = (StoreCorruptError, StoreDamagedError, TamperedDataError, KeyDestroyedError)


class SettingsError(UnveilError, ValueError):
    """ApiSettings that the server could not honour."""


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """token: the bearer token every /v1 request must carry. max_body_bytes: the largest request body read.
    max_pixels: the largest photo decoded (fer_core.images.MAX_PIXELS), at most Pillow's own limit
    (SettingsError otherwise). analyses_at_once: see DEFAULT_ANALYSES_AT_ONCE."""

    token: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_pixels: int = MAX_PIXELS
    analyses_at_once: int = DEFAULT_ANALYSES_AT_ONCE

    def __post_init__(self) -> None:
        # Pillow refuses a photo over its limit as it opens it, before load_image compares the size with
        # max_pixels: a higher max_pixels would be quoted in the error but never be the limit applied.
        limit = Image.MAX_IMAGE_PIXELS  # None: Pillow checks nothing, and max_pixels alone applies
        if limit is not None and self.max_pixels > limit:
            raise SettingsError(MAX_PIXELS_OVER_PILLOW.format(max_pixels=self.max_pixels, limit=limit))


class ApiError(Exception):
    """An answer other than 200: its HTTP status, a machine-readable kind and a sentence for people."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def _error(status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status, headers=headers)


def create_app(*, settings: ApiSettings, analyzer: FaceAnalyzer | None = None,
               store: FamilyStore | None = None) -> FastAPI:
    """The API over `analyzer`'s models (default: the shipped ones), naming family members when `store` is
    given unlocked. The gallery is read from the store for each request, so an enrolment or an erasure made
    meanwhile (in the app or the CLI) counts at once."""
    models = analyzer if analyzer is not None else FaceAnalyzer()
    expected = settings.token.encode()
    # A thread semaphore, taken in the worker thread: the analysis itself runs outside the event loop.
    turns = threading.BoundedSemaphore(settings.analyses_at_once)
    # No Swagger or ReDoc page: FastAPI's load their scripts from a public CDN, so opening one would
    # contact a third party. The OpenAPI description is served at /openapi.json, behind the token.
    app = FastAPI(title="Unveil local API", version="1", docs_url=None, redoc_url=None,
                  description="Faces, emotions and family names of photos, analysed on this machine.")

    @app.middleware("http")
    async def bearer_token(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        # Checked before any route runs or any body is read, on every path: without the token, every path
        # gets the same answer, so nobody learns which routes exist.
        given = _bearer_token(request.headers.get("authorization", ""))
        if given is None or not secrets.compare_digest(given, expected):
            return _error(401, "unauthorized", UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.kind, exc.detail)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        # 503 either way: the server is up but cannot do its job. The kind tells an automation whether
        # to retry (busy), to restart the server (its key was replaced) or to alert someone (damaged). The
        # server never locks its store itself: locked means another session rotated the master key.
        if isinstance(exc, _DAMAGE):
            return _error(503, "store_damaged", STORE_DAMAGED.format(reason=exc))
        if isinstance(exc, StoreLockedError):
            return _error(503, "store_key_changed", STORE_KEY_CHANGED)
        return _error(503, "store_unavailable", STORE_UNAVAILABLE.format(reason=exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", str(exc.detail))

    def gallery() -> Gallery | None:
        identity = models.identity_model
        if store is None or identity is None:
            return None
        return family.gallery(store, identity)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        """Whether the server is up, which models it runs, and whether it names family members. When it
        names them but the family store cannot be read, 503 with error "store_unavailable" (busy: retry),
        "store_key_changed" (restart the server with the new passphrase) or "store_damaged" (run
        `unveil family check`), as
        /v1/analyze would answer."""
        identity = models.identity_model
        return {
            "status": "ok",
            "recognition": gallery() is not None,
            "models": {
                "emotion": {"file": models.emotion_model.name, "version": models.emotion_model.version,
                            "classes": list(models.emotion_model.classes)},
                "identity": None if identity is None else {"file": identity.name, "version": identity.version},
            },
        }

    @app.post("/v1/analyze")
    async def analyze(request: Request) -> dict[str, Any]:
        """The faces of one photo: box (x, y, w, h), detector score, emotion with its probabilities, and the
        family member's name ("unknown" for anyone else) when the server names people. The photo is sent as
        multipart/form-data (field `image`) or as the raw body (an image/* Content-Type). When the family
        store cannot be read, 503 with error "store_unavailable", "store_key_changed" or "store_damaged", and
        no faces: an answer without names would call family members "unknown", and an automation keyed
        on strangers would act on it."""
        data = await _body_image(request, settings.max_body_bytes)
        return await run_in_threadpool(_analyze, data, models, gallery, settings.max_pixels, store, turns)

    @app.get("/v1/people")
    def people() -> dict[str, Any]:
        """The enrolled family members: names and consent status only, never embeddings or photos. 503 when
        the store cannot be read, as in /v1/analyze."""
        if store is None:
            raise ApiError(409, "store_locked", STORE_LOCKED)
        return {"people": [{"name": m.name, "consent": m.consent_status,
                            "consent_expires": m.consent.expires_at.isoformat() if m.consent else None}
                           for m in family.members(store)]}

    return app


def _bearer_token(authorization: str) -> bytes | None:
    """The token of an `Authorization: Bearer TOKEN` header; None for any other scheme. The scheme is
    matched in any case and may be followed by several spaces (RFC 7235 section 2.1, RFC 6750 section 2.1):
    clients send `bearer` too. Only the token is secret, so only the token needs a constant-time compare."""
    scheme, _, token = authorization.partition(" ")
    return token.lstrip(" ").encode() if scheme.lower() == "bearer" else None


async def _body_image(request: Request, limit: int) -> bytes:
    """The photo's bytes from the request body, read into memory only and never past `limit` bytes."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    multipart = kind == "multipart/form-data"
    if not (multipart or kind.startswith("image/") or kind == "application/octet-stream"):
        raise ApiError(415, "unsupported_media_type", UNSUPPORTED_TYPE.format(content_type=content_type))
    too_large = ApiError(413, "too_large", BODY_TOO_LARGE.format(limit_mb=limit / 1024**2))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    if not multipart:
        return bytes(body)
    try:
        return image_from_multipart(bytes(body), content_type)
    except MultipartError as exc:
        raise ApiError(400, "malformed_multipart", str(exc)) from None


def _analyze(data: bytes, models: FaceAnalyzer, gallery_now: Callable[[], Gallery | None], max_pixels: int,
             store: FamilyStore | None, turns: threading.BoundedSemaphore) -> dict[str, Any]:
    with turns:
        return _analyze_now(data, models, gallery_now, max_pixels, store)


def _analyze_now(data: bytes, models: FaceAnalyzer, gallery_now: Callable[[], Gallery | None], max_pixels: int,
                 store: FamilyStore | None) -> dict[str, Any]:
    try:
        image = load_image(data, max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        raise ApiError(413, "too_many_pixels", exc.reason) from None
    except ImageError as exc:
        raise ApiError(400, "unreadable_image", exc.reason) from None
    version = store.data_version() if store is not None else None
    gallery = gallery_now()
    faces = models.analyze(image, gallery=gallery)
    # An analysis takes up to seconds; an erasure (or a consent withdrawn) that another session committed
    # meanwhile would otherwise be named in an answer sent after the erasure returned. When the store
    # changed, the faces are named again from the gallery as it is now (their embeddings are kept).
    if gallery is not None and store is not None and store.data_version() != version:
        faces = identify(faces, gallery_now())
    if gallery is not None and faces and store is not None:
        family.count_recognitions(store, [face.person_id for face in faces])  # store errors: see store_error
    height, width = image.shape[:2]
    rows = face_records(faces, source=UPLOAD_NAME, recognition=gallery is not None)
    return {"width": width, "height": height,
            "faces": [{key: value for key, value in row.items() if key != "source"} for row in rows]}

