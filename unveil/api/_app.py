"""The FastAPI application of `unveil serve`: routes, bearer-token check, bounded uploads, JSON errors."""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import secrets
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from fer_core import FaceAnalyzer, Gallery, ImageError, ImageTooLargeError, UnveilError, load_image
from fer_core.analyzer import identify
from fer_core.images import MAX_PIXELS, pictures_not_read
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
from governance.recognition_tally import DEFAULT_PERIOD_S, RecognitionTally
from governance.scheduled_sweeps import ScheduledSweeps
from unveil.api._multipart import MultipartError, image_from_multipart

# Uploads larger than this are refused before they are read whole: a 50 MP phone JPEG is 15-25 MB.
DEFAULT_MAX_BODY_BYTES = 25 * 1024**2
# At most this many photos are analysed at once, each in a thread of the server's own (the threads that
# answer /v1/health and /v1/people are never taken); more requests wait their turn. The ONNX Runtime
# sessions are thread-safe, but each analysis already uses every core and holds its photo decoded
# (up to 12 bytes a pixel while detecting), so running more at once only adds memory, not speed.
DEFAULT_ANALYSES_AT_ONCE = 2
# At most this many more /v1/analyze requests wait (reading their body or waiting for a turn); the next is
# answered 503 "busy" with Retry-After before its body is read. Each waiting request holds its body (up to
# max_body_bytes) in memory, so this bounds what a client sending photos faster than they are analysed
# can make the server hold: without it, 30 simultaneous 21 MB uploads took the server to 2.9 GB resident
# (1.4 GB now), and a home automation looping on requests could grow it until the kernel killed it.
DEFAULT_ANALYSES_WAITING = 8
BUSY_RETRY_AFTER_S = 5
# Seconds a client has to send the whole body of a /v1/analyze request once its head arrived (the head has
# its own deadline, unveil.api._server). 25 MB in 60 s is 3.3 Mbit/s; a photo over a home network takes
# seconds. Without it, a client that sent a head and part of a body held its connection and that body in
# memory for ever.
DEFAULT_BODY_TIMEOUT_S = 60.0
# Seconds of recognitions summed into one "recognise" audit entry (governance.recognition_tally). Counted per photo,
# a snapshot every 2 s wrote 8 MB of audit log a day; 0 writes after each photo.
DEFAULT_COUNT_PERIOD_S = DEFAULT_PERIOD_S

# Every answer's Cache-Control: answers hold faces' positions and emotions and members' names, and an HTTP client that
# caches (a browser, an automation's HTTP library) would otherwise be free to keep them on disk.
NO_STORE = "no-store"

# The names and addresses a request may be addressed to (its Host header) on any server: this machine's own.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

UNAUTHORIZED = "a valid 'Authorization: Bearer TOKEN' header is required"
HOST_NOT_ALLOWED = ("this server answers only requests addressed to localhost, 127.0.0.1, [::1], the address it listens "
                    "on or a name given with --allow-host (the Host header); nothing was read")
BODY_TOO_LARGE = "the request body is over the {limit_mb:g} MB limit; nothing was analysed"
UNSUPPORTED_TYPE = ("send the photo as multipart/form-data (field 'image') or as raw bytes with an image/* or "
                    "application/octet-stream Content-Type; got {content_type!r}")
STORE_LOCKED = ("the family store is not unlocked for this server (start it with UNVEIL_PASSPHRASE or --key-file "
                "to list members)")
STORE_UNAVAILABLE = "the family store cannot be used now: {reason}"
# The store locks this server's session when another session replaces its master key (a rotation): its keys
# no longer open anything, so only a restart with the new passphrase helps, not a retry.
STORE_KEY_CHANGED = ("the family store's master key was replaced in another session (by the app's Family page or "
                     "`unveil family passwd --rotate`): restart unveil serve with the new passphrase or key file; "
                     "retrying will not help")
# What a store error's reason says instead of the store's folder.
STORE_FOLDER = "the server's data folder"
# An error the server did not foresee (500): what it says may hold a path on the server, a member's name or other
# data the client did not send, so the client gets this, and the server's log the error's kind and where it was
# raised (UNEXPECTED_LOGGED), not its message: a service's log is kept in a journal that others may read.
INTERNAL_ERROR = "the server failed while answering; nothing of the failure is said here: the server's log has it"
UNEXPECTED_LOGGED = "unexpected %s answering %s %s, raised at:\n%s"
STORE_DAMAGED = ("the family store cannot be read, so no face can be named and no photo is analysed (a reply without "
                 "names would pass family members off as strangers): {reason}")
BUSY = ("{admitted} photos are being received, analysed or waiting their turn, the most this server takes at once; "
        "nothing was read or analysed: retry after {retry_after_s} s")
BODY_TOO_SLOW = "the request body did not arrive whole within {seconds:g} s; nothing was analysed"
CLIENT_GONE = "the client closed the connection before the whole body arrived; nothing was analysed"
SETTING_OUT_OF_RANGE = "{name} must be {rule}, got {value!r}"
MAX_PIXELS_OVER_PILLOW = ("max_pixels {max_pixels:,} is over the {limit:,} pixels Pillow opens (PIL.Image.MAX_IMAGE_PIXELS, "
                          "its decompression-bomb limit), so photos under it would still be refused; set at most "
                          "{limit:,}")
UPLOAD_NAME = "upload"
# Store errors that retrying will not cure: the file needs `unveil family check` and a restore.
_DAMAGE = (StoreCorruptError, StoreDamagedError, TamperedDataError, KeyDestroyedError)

log = logging.getLogger("unveil.api")


class SettingsError(UnveilError, ValueError):
    """ApiSettings that the server could not honour."""


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """token: the bearer token every /v1 request must carry. max_body_bytes: the largest request body read.
    max_pixels: the largest photo decoded (fer_core.images.MAX_PIXELS), at most Pillow's own limit
    (SettingsError otherwise). analyses_at_once, analyses_waiting, body_timeout_s, count_period_s: see
    DEFAULT_ANALYSES_AT_ONCE, DEFAULT_ANALYSES_WAITING, DEFAULT_BODY_TIMEOUT_S and DEFAULT_COUNT_PERIOD_S (0: counted
    after each photo). receipts_folder: where the retention sweeps write each erased member's deletion receipt
    (governance.scheduled_sweeps; None: nowhere). allowed_hosts: the names and addresses a request's
    Host header may give (any case, any port); any_ip_address: whether any IP address may be given too (a server
    listening on every interface, whose addresses are not known in advance). Other requests get 421."""

    token: str
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    any_ip_address: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_pixels: int = MAX_PIXELS
    analyses_at_once: int = DEFAULT_ANALYSES_AT_ONCE
    analyses_waiting: int = DEFAULT_ANALYSES_WAITING
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    count_period_s: float = DEFAULT_COUNT_PERIOD_S
    receipts_folder: str | None = None

    def __post_init__(self) -> None:
        # Pillow refuses a photo over its limit as it opens it, before load_image compares the size with
        # max_pixels: a higher max_pixels would be quoted in the error but never be the limit applied.
        limit = Image.MAX_IMAGE_PIXELS  # None: Pillow checks nothing, and max_pixels alone applies
        if limit is not None and self.max_pixels > limit:
            raise SettingsError(MAX_PIXELS_OVER_PILLOW.format(max_pixels=self.max_pixels, limit=limit))
        # No analysis thread, no body or no time to send one would answer every photo with an error; NaN or a
        # negative count would make the bounds compare false and admit everything.
        for name, rule, valid in (
                ("max_body_bytes", "a whole number of at least 1", _whole(self.max_body_bytes) and self.max_body_bytes >= 1),
                ("max_pixels", "a whole number of at least 1", _whole(self.max_pixels) and self.max_pixels >= 1),
                ("analyses_at_once", "a whole number of at least 1",
                 _whole(self.analyses_at_once) and self.analyses_at_once >= 1),
                ("analyses_waiting", "a whole number of at least 0",
                 _whole(self.analyses_waiting) and self.analyses_waiting >= 0),
                ("body_timeout_s", "a number of seconds over 0", isinstance(self.body_timeout_s, (int, float))
                 and math.isfinite(self.body_timeout_s) and self.body_timeout_s > 0),
                ("count_period_s", "a number of seconds of at least 0", isinstance(self.count_period_s, (int, float))
                 and not isinstance(self.count_period_s, bool) and math.isfinite(self.count_period_s)
                 and self.count_period_s >= 0)):
            if not valid:
                raise SettingsError(SETTING_OUT_OF_RANGE.format(name=name, rule=rule, value=getattr(self, name)))
        if isinstance(self.allowed_hosts, str) or not all(
                isinstance(host, str) and _allowed_host_name(host) for host in self.allowed_hosts):
            raise SettingsError(SETTING_OUT_OF_RANGE.format(name="allowed_hosts", rule="a tuple of host names or IP "
                                                            "addresses", value=self.allowed_hosts))


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ApiError(Exception):
    """An answer other than 200: its HTTP status, a machine-readable kind and a sentence for people."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.headers = status, kind, detail, headers


class _Admission:
    """How many /v1/analyze requests are in the server (receiving, waiting or analysed), refusing the one past
    `most`. A lock, not the event loop, keeps the count: Starlette's TestClient runs each request on a loop
    of its own."""

    def __init__(self, most: int) -> None:
        self.most, self.count, self._lock = most, 0, threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.count >= self.most:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


def _error(status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status, headers=headers)


def create_app(*, settings: ApiSettings, analyzer: FaceAnalyzer | None = None,
               store: FamilyStore | None = None) -> FastAPI:
    """The API over `analyzer`'s models (default: the shipped ones), naming family members when `store` is
    given unlocked. The gallery is read from the store for each request, so an enrolment or an erasure made
    meanwhile (in the app or the CLI) counts at once."""
    models = analyzer if analyzer is not None else FaceAnalyzer()
    expected = settings.token.encode()
    # The analyses' own threads: a request waiting for one holds no thread, so /v1/health and /v1/people
    # (in Starlette's thread pool of 40) are answered however many wait. Everything that costs CPU in a
    # request, the multipart parsing included, runs there, never on the event loop. Only these threads
    # allocate for analyses, so only their malloc arenas grow: when any of Starlette's 40 threads could run
    # one, 20 simultaneous 48 MP uploads took 3.6 GB resident (1.5 GB with MALLOC_ARENA_MAX=2; 1.35 GB now).
    analyses = ThreadPoolExecutor(settings.analyses_at_once, thread_name_prefix="unveil-analysis")
    admission = _Admission(settings.analyses_at_once + settings.analyses_waiting)
    # Recognitions are summed and written once a period, and at shutdown; a write that fails never fails a request.
    tally = RecognitionTally(store, period_s=settings.count_period_s) if store is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A server runs for weeks with the store unlocked: it sweeps before its first answer, as the app does at
        # unlock, and once a day after (governance.scheduled_sweeps).
        sweeps = ScheduledSweeps(store, receipts_folder=settings.receipts_folder) if store is not None else None
        if sweeps is not None:
            sweeps.run_if_due()
        # At shutdown (uvicorn has let its requests finish), the sweeps' and the analyses' threads end with the server;
        # then what the analyses counted since the last write is written (the tally's block is left last).
        try:
            with contextlib.ExitStack() as running:
                if tally is not None:
                    running.enter_context(tally.running())
                if sweeps is not None:
                    running.enter_context(sweeps.running())
                running.callback(analyses.shutdown, wait=True, cancel_futures=True)
                yield
        finally:
            analyses.shutdown(wait=True, cancel_futures=True)

    # No Swagger or ReDoc page: FastAPI's load their scripts from a public CDN, so opening one would
    # contact a third party. The OpenAPI description is served at /openapi.json, behind the token.
    # No telemetry: FastAPI (0.165) traces each request through OpenTelemetry's global providers and, given
    # FASTAPI_OTEL_AUTO_CONFIGURE and an OTLP endpoint in the environment, exports them itself: a variable set for
    # another service would send each request's path and timing off the machine.
    app = FastAPI(title="Unveil local API", version="1", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Faces, emotions and family names of photos, analysed on this machine.",
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                             "auto_configure": False})
    app.state.analyses_in = admission  # read-only, for tests: .count is how many /v1/analyze requests are in

    @app.middleware("http")
    async def bearer_token(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        # Checked before any route runs or any body is read, on every path: without the token, every path
        # gets the same answer, so nobody learns which routes exist.
        given = _bearer_token(request.headers.get("authorization", ""))
        if given is None or not secrets.compare_digest(given, expected):
            return _error(401, "unauthorized", UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    # Added after the token's check, so it runs before it, before anything else. DNS rebinding: a web page on
    # evil.example whose name is then made to resolve to 127.0.0.1 is same-origin with this server for the
    # household's browser, which sends its requests with "Host: evil.example" and lets the page read the
    # answers; without this check they were answered like any other (with 401 for want of the token, or
    # whatever the token opens should the page learn it). An IP address cannot be rebound: a page addressed
    # by one reaches that address, so any_ip_address admits no rebinding.
    allowed_hosts = frozenset(_allowed_host_name(host) for host in settings.allowed_hosts)

    @app.middleware("http")
    async def host_allowed(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        host = request.headers.get("host")
        # No Host at all: HTTP/1.0 from a program (h11 refuses HTTP/1.1 without one); browsers always send it.
        if host is not None and not _host_allowed(host, allowed_hosts, settings.any_ip_address):
            return _error(421, "host_not_allowed", HOST_NOT_ALLOWED)
        return await call_next(request)

    # Added last, so it runs first and its header is on every answer, refusals and errors included. An error no
    # handler took was answered by Starlette outside it ("Internal Server Error", text/plain, no Cache-Control) and
    # logged by uvicorn with its message.
    @app.middleware("http")
    async def stored_by_no_cache(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        try:
            response = await call_next(request)
        except Exception as exc:
            log.error(UNEXPECTED_LOGGED, type(exc).__name__, request.method, request.url.path,
                      "".join(traceback.format_tb(exc.__traceback__)))
            response = _error(500, "internal_error", INTERNAL_ERROR)
        response.headers["Cache-Control"] = NO_STORE
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.kind, exc.detail, exc.headers)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        # 503 either way: the server is up but cannot do its job. The kind tells an automation whether
        # to retry (busy), to restart the server (its key was replaced) or to alert someone (damaged). The
        # server never locks its store itself: locked means another session rotated the master key.
        # The reason names the store's folder ("the store in /home/alice/.local/share/unveil ..."): the path (and the
        # user name in it) is the server's, not the client's, which may be another machine; `unveil family check`
        # on the server names it.
        reason = str(exc).replace(str(store.data_dir), STORE_FOLDER) if store is not None else str(exc)
        if isinstance(exc, _DAMAGE):
            return _error(503, "store_damaged", STORE_DAMAGED.format(reason=reason))
        if isinstance(exc, StoreLockedError):
            return _error(503, "store_key_changed", STORE_KEY_CHANGED)
        # Busy: another session holds the write lock for a moment; say when to come back, as for "busy".
        return _error(503, "store_unavailable", STORE_UNAVAILABLE.format(reason=reason),
                      {"Retry-After": str(BUSY_RETRY_AFTER_S)})

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
                "identity": None if identity is None else {"file": identity.file, "version": identity.version},
            },
        }

    @app.post("/v1/analyze")
    async def analyze(request: Request) -> dict[str, Any]:
        """The faces of one photo: box (x, y, w, h), detector score, emotion with its probabilities, and the
        family member's name ("unknown" for anyone else) when the server names people, with `ambiguous`: true for an
        "unknown" face about as close to two members (twins, one person enrolled twice), naming neither, false for
        any other (a named face, or nobody close: a stranger), and `not_read`: of a file holding more than one picture
        (a multi-page TIFF, an animated GIF, WebP or PNG, a multi-picture JPEG), of which only the first is analysed,
        {"kind": "pages" | "frames" | "pictures", "count" (null when the file is damaged after its first picture),
        "note"}, else null. The photo is sent as multipart/form-data (field `image`) or as the raw body (an image/*
        Content-Type). When the family
        store cannot be read, 503 with error "store_unavailable", "store_key_changed" or "store_damaged", and
        no faces: an answer without names would call family members "unknown", and an automation keyed
        on strangers would act on it. When as many requests as the server takes are in already, 503 with
        error "busy" and a Retry-After header, before the body is read."""
        content_type = _photo_content_type(request, settings.max_body_bytes)
        if not admission.enter():
            raise ApiError(503, "busy", BUSY.format(admitted=admission.most, retry_after_s=BUSY_RETRY_AFTER_S),
                           {"Retry-After": str(BUSY_RETRY_AFTER_S)})
        # The place is given back when the request leaves, or once its analysis is submitted, when the analysis
        # ends: a request cancelled meanwhile (its client gone, the server stopping) does not stop an analysis
        # running in the analyses' threads, and giving its place back then let more photos in than the bound.
        submitted = False
        try:
            body = await _body(request, settings.max_body_bytes, settings.body_timeout_s)
            job = analyses.submit(_analyze, body, content_type, models, gallery, settings.max_pixels, store, tally)
            job.add_done_callback(lambda _: admission.leave())
            submitted = True
            return await asyncio.wrap_future(job)
        finally:
            if not submitted:
                admission.leave()

    @app.get("/v1/people")
    def people() -> dict[str, Any]:
        """The enrolled family members: names and consent status only, never embeddings or photos. 503 when
        the store cannot be read, as in /v1/analyze. consent_expires: when their consent stops counting (a
        guardian's: at the latest, the day they decide for themself)."""
        if store is None:
            raise ApiError(409, "store_locked", STORE_LOCKED)
        return {"people": [{"name": m.name, "consent": m.consent_status,
                            "consent_expires": m.consent.ends_at.isoformat() if m.consent else None}
                           for m in family.members(store)]}

    return app


def _host_name(host: str) -> str:
    """The name or address a Host header gives (host[:port]): a name in lower case without its final dot, an IP
    address as Python writes it ("::1" for "[0:0::1]"); "" when it is not a valid host[:port]."""
    try:
        parts = urlsplit(f"//{host.strip()}")
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number from 0 to 65535)
    except ValueError:
        return ""
    if parts.username is not None or parts.password is not None or parts.path or parts.query or parts.fragment:
        return ""
    name = (parts.hostname or "").removesuffix(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _allowed_host_name(host: str) -> str:
    """_host_name of an allowed host, which may also be an IPv6 address without brackets ("::1")."""
    try:
        return str(ipaddress.ip_address(host.strip()))
    except ValueError:
        return _host_name(host)


def _host_allowed(host: str, allowed: frozenset[str], any_ip_address: bool) -> bool:
    name = _host_name(host)
    if not name:
        return False
    if name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return any_ip_address


def _bearer_token(authorization: str) -> bytes | None:
    """The token of an `Authorization: Bearer TOKEN` header; None for any other scheme. The scheme is
    matched in any case and may be followed by several spaces (RFC 7235 section 2.1, RFC 6750 section 2.1):
    clients send `bearer` too. Only the token is secret, so only the token needs a constant-time compare."""
    scheme, _, token = authorization.partition(" ")
    return token.lstrip(" ").encode() if scheme.lower() == "bearer" else None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", BODY_TOO_LARGE.format(limit_mb=limit / 1024**2))


def _media_type(content_type: str) -> str:
    """"multipart/form-data" of "multipart/form-data; boundary=x": the type without its parameters, lower case."""
    return content_type.split(";")[0].strip().lower()


def _photo_content_type(request: Request, limit: int) -> str:
    """The request's Content-Type when it can carry a photo and its declared length is within `limit`."""
    content_type = request.headers.get("content-type", "")
    kind = _media_type(content_type)
    if not (kind == "multipart/form-data" or kind.startswith("image/") or kind == "application/octet-stream"):
        raise ApiError(415, "unsupported_media_type", UNSUPPORTED_TYPE.format(content_type=content_type))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    return content_type


async def _body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The request body, read into memory only, never past `limit` bytes nor for longer than `timeout_s`."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise _too_large(limit)
    except TimeoutError:
        raise ApiError(408, "body_timeout", BODY_TOO_SLOW.format(seconds=timeout_s)) from None
    except ClientDisconnect:
        # Nobody is left to read the answer (uvicorn drops it); without this, uvicorn logged a traceback.
        raise ApiError(400, "client_disconnected", CLIENT_GONE) from None
    return bytes(body)


def _photo(body: bytes, content_type: str) -> bytes:
    """The photo's bytes: the body itself, or its multipart `image` field."""
    if _media_type(content_type) != "multipart/form-data":
        return body
    try:
        return image_from_multipart(body, content_type)
    except MultipartError as exc:
        raise ApiError(400, "malformed_multipart", str(exc)) from None


def _analyze(body: bytes, content_type: str, models: FaceAnalyzer, gallery_now: Callable[[], Gallery | None],
             max_pixels: int, store: FamilyStore | None, tally: RecognitionTally | None) -> dict[str, Any]:
    return _analyze_now(_photo(body, content_type), models, gallery_now, max_pixels, store, tally)


def _analyze_now(data: bytes, models: FaceAnalyzer, gallery_now: Callable[[], Gallery | None], max_pixels: int,
                 store: FamilyStore | None, tally: RecognitionTally | None) -> dict[str, Any]:
    try:
        image = load_image(data, max_pixels=max_pixels)
        left_out = pictures_not_read(data)
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
    if gallery is not None and faces and tally is not None:
        tally.count([face.person_id for face in faces])  # summed, written once a period; never raises
    height, width = image.shape[:2]
    rows = face_records(faces, source=UPLOAD_NAME, recognition=gallery is not None)
    if gallery is not None:  # beside `identity`: an "unknown" about as close to two members is no stranger
        for row, face in zip(rows, faces, strict=True):
            row["ambiguous"] = face.match is not None and face.match.ambiguous
    return {"width": width, "height": height,
            "faces": [{key: value for key, value in row.items() if key != "source"} for row in rows],
            "not_read": None if left_out is None else {"kind": left_out.kind, "count": left_out.count,
                                                       "note": left_out.note}}

