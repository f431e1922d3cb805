"""Key derivation, key wrapping and sealing. All cryptography comes from `cryptography`:
AES-256-GCM for every ciphertext, scrypt for passphrases, HKDF/HMAC-SHA256 for derived keys.

Key hierarchy (like LUKS key slots):
    passphrase --scrypt--> KEK --AES-GCM--> master key --AES-GCM--> per-person data key --AES-GCM--> fields
    key file   --HKDF----> KEK ----------/
The master key is random. A passphrase change re-wraps only the master key and re-encrypts no data;
rotating the master key (after a passphrase leaked) re-wraps every data key under a new one, so an
old copy of unveil.db and the old passphrase no longer open today's keys.db.
Keys held in memory are bytearrays, overwritten with zeros when the store locks.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from fer_core.store._errors import (
    KEY_FILE_NOT_CREATED,
    KEY_FILE_NOT_WRITTEN,
    KeyFileError,
    PassphraseNotTextError,
    TamperedDataError,
    WeakPassphraseError,
    os_detail,
)
from fer_core.store._paths import _fsync_dir

KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12  # GCM's standard nonce; random nonces are safe far beyond a household's message count
_TAG_BYTES = 16
_FORMAT = b"\x01"  # first byte of every sealed value, so the format can evolve
# Format 2: the associated data also holds the row's plaintext times. Changing the byte does not
# downgrade a value: its tag was computed over the other format's associated data.
_FORMAT_TIMED = b"\x02"
_AAD_PREFIX = b"unveil/1|"
MIN_PASSPHRASE_CHARS = 8


@dataclass(frozen=True, kw_only=True)
class ScryptParams:
    """scrypt cost. The default (N=2**17, r=8, p=1: 128 MiB) costs 0.39 s of CPU per derivation on the
    reference 2-core machine: 0.4 s wall with a training job beside it, about 1 s when ~9 jobs share
    the two cores (benchmarks/privacy_figures.py). Every passphrase guess costs an attacker the same
    memory and time. N=2**16 would halve it, N=2**18 double it (0.9-1.5 s: too slow for a person).
    The parameters are stored with the key slot, so a store keeps opening after the default changes.
    Cheaper values exist only so tests run fast."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    # Bounds checked on every unlock too: the slot's parameters are read before anything can be
    # authenticated, so an edited slot must not make an unlock cost more than twice the default.
    _MAX_N = 2**20
    _MIN_N = 2**10
    _MAX_WORK = 2**21  # n * r * p; the default is 2**20

    def __post_init__(self) -> None:
        if self.n & (self.n - 1) or not self._MIN_N <= self.n <= self._MAX_N:
            raise ValueError(f"scrypt n must be a power of two in [2**10, 2**20], got {self.n}")
        if not (1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise ValueError(f"scrypt r must be in [1, 32] and p in [1, 16], got r={self.r}, p={self.p}")
        if self.n * self.r * self.p > self._MAX_WORK:
            raise ValueError(f"scrypt n*r*p must be at most 2**21 (twice the default cost), got {self.n * self.r * self.p}")

    def label(self) -> str:
        return f"scrypt n={self.n} r={self.r} p={self.p}"


def aad(*parts: str) -> bytes:
    """Associated data binding a ciphertext to where it lives (table, row, column, owner, store):
    a ciphertext copied to another row or column fails authentication. An id that is not text (a
    damaged row) cannot name where anything lives: TamperedDataError."""
    if not all(isinstance(part, str) for part in parts):
        raise TamperedDataError("a row whose id is not text")
    return _AAD_PREFIX + "|".join(parts).encode("utf-8", "surrogateescape")


def new_key() -> bytearray:
    return bytearray(os.urandom(KEY_BYTES))


def wipe(key: bytearray | None) -> None:
    """Overwrite a key held in memory (the copies `cryptography` makes internally are freed with it)."""
    if key is not None:
        key[:] = bytes(len(key))


def seal(key: bytes, plaintext: bytes, associated: bytes, *, timed: bool = False) -> bytes:
    """`timed`: `associated` includes the row's times (format 2)."""
    nonce = os.urandom(_NONCE_BYTES)
    return (_FORMAT_TIMED if timed else _FORMAT) + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def is_timed(sealed: bytes) -> bool:
    """Whether a sealed value binds its row's times (format 2), so they belong in its associated data."""
    return isinstance(sealed, bytes) and sealed[:1] == _FORMAT_TIMED


def unseal(key: bytes, sealed: bytes, associated: bytes, *, what: str) -> bytes:
    """The plaintext, or TamperedDataError naming `what`: GCM never returns garbage for a bad byte."""
    if not isinstance(sealed, bytes) or len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES or sealed[:1] not in (_FORMAT, _FORMAT_TIMED):
        raise TamperedDataError(what)
    nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, associated)
    except InvalidTag:
        raise TamperedDataError(what) from None


def passphrase_bytes(passphrase: str) -> bytes:
    """NFC-normalised UTF-8, so the same passphrase typed on another keyboard layout still unlocks;
    PassphraseNotTextError when UTF-8 cannot hold it."""
    try:
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    except UnicodeEncodeError:
        pass
    # Raised here, not in the except block: the UnicodeEncodeError holds the whole passphrase (its `object`), and
    # would go with this error as its __context__ (into a traceback formatter, an error reporter).
    raise PassphraseNotTextError()


def check_new_passphrase(passphrase: str) -> None:
    passphrase_bytes(passphrase)  # before anything is made with it
    if len(unicodedata.normalize("NFC", passphrase)) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphraseError(MIN_PASSPHRASE_CHARS)


def passphrase_kek(passphrase: str, salt: bytes, params: ScryptParams) -> bytearray:
    kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
    return bytearray(kdf.derive(passphrase_bytes(passphrase)))


def key_file_kek(secret: bytes, salt: bytes) -> bytearray:
    return bytearray(HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"unveil/1 key-file kek").derive(secret))


def derive_subkey(master: bytes | bytearray, purpose: str) -> bytearray:
    """A key for one purpose (e.g. the audit MAC), independent of every other use of the master key."""
    return bytearray(HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                          info=f"unveil/1 {purpose}".encode()).derive(master))


def kek_check(kek: bytes | bytearray, binding: str = "") -> bytes:
    """A short tag telling a wrong passphrase (tag differs) apart from a damaged key slot (tag matches
    but the wrapped key fails). It lets a guess be tested offline exactly as the wrapped key already does,
    so it gives an attacker nothing new; scrypt is what makes each guess expensive. `binding` ties the
    tag to the slot's parameters (slot format 2); format 1 slots used none."""
    suffix = f"|{binding}".encode() if binding else b""
    return hmac.new(kek, b"unveil/1 kek check" + suffix, hashlib.sha256).digest()[:16]


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def same(a: bytes | None, b: bytes | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The 32 secret bytes of a key file, refusing one that others can read (like ssh does)."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"key file {path} is not a regular file")
    if os.name == "posix" and info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise KeyFileError(f"key file {path} is accessible by other users (mode {mode:04o}): run `chmod 600 {path}`")
    secret = path.read_bytes()
    if len(secret) != KEY_BYTES:
        raise KeyFileError(f"key file {path} is not an Unveil key file (expected {KEY_BYTES} bytes, found {len(secret)})")
    return secret


def create_key_file(path: str | os.PathLike[str]) -> Path:
    """Write a new random key file readable only by its owner (mode 0600). Never overwrites a file."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists; it was not overwritten") from None
    except OSError as exc:  # no such folder, or one this user cannot write
        raise KeyFileError(KEY_FILE_NOT_CREATED.format(path=path, detail=os_detail(exc))) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # a full disk: the empty file left would be refused as "already exists" next time
        path.unlink(missing_ok=True)
        raise KeyFileError(KEY_FILE_NOT_WRITTEN.format(path=path, detail=os_detail(exc))) from None
    _fsync_dir(path.parent)  # the key may be all that unlocks the store made with it: its name must survive a power cut
    return path
