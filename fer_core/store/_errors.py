"""Typed errors of the encrypted family store. Each message says what went wrong and that nothing was
changed (or what was), so the app and the CLI can show it as-is."""
from __future__ import annotations

from pathlib import Path

from fer_core._errors import UnveilError


class StoreError(UnveilError):
    """Base class of every error the family store raises on purpose."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"no Unveil store in {data_dir}: create one first")


class StoreExistsError(StoreError, FileExistsError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"an Unveil store already exists in {data_dir}; nothing was changed")


class StoreCorruptError(StoreError):
    def __init__(self, data_dir: Path, detail: str) -> None:
        super().__init__(f"the store in {data_dir} cannot be read ({detail}); restore it from a backup")


class StoreBusyError(StoreError):
    def __init__(self, timeout: float) -> None:
        super().__init__(f"the store is busy in another session (waited {timeout:g} s); nothing was changed")


class StoreLockedError(StoreError):
    def __init__(self) -> None:
        super().__init__("the store is locked: unlock it with the passphrase or key file first")


class WrongPassphraseError(StoreError):
    def __init__(self) -> None:
        super().__init__("wrong passphrase: the store stays locked and nothing was changed")


class WeakPassphraseError(StoreError, ValueError):
    def __init__(self, minimum: int) -> None:
        super().__init__(f"a passphrase needs at least {minimum} characters; nothing was changed")


class KeyFileError(StoreError):
    """The key file is missing, too widely readable, malformed, or does not unlock this store."""


class TamperedDataError(StoreError):
    """A sealed value failed AES-GCM authentication: altered, corrupted or moved to another row."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} failed authentication: it was altered, corrupted or moved, and was not decrypted")


class KeyDestroyedError(StoreError):
    """The person's data key is gone (they were erased): their ciphertexts can never be read again."""

    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        super().__init__(f"the data key of person {person_id} has been destroyed: their data cannot be decrypted")


class PersonNotFoundError(StoreError, LookupError):
    def __init__(self, person: str, *, by_name: bool = False) -> None:
        what = f"named {person!r}" if by_name else f"with id {person}"
        super().__init__(f"no person {what} in the store")


class PersonExistsError(StoreError, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a person named {name!r} is already enrolled; nothing was changed")


class PersonNameError(StoreError, ValueError):
    """A name that is empty, too long, or holds control characters."""


class EmbeddingError(StoreError, ValueError):
    """Embeddings that are not a finite (n, d) float array, or whose size does not match the person's."""
