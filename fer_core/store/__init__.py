"""The encrypted family store: one SQLite database (WAL) per data directory, every personal value
sealed with AES-256-GCM under a per-person data key, data keys wrapped by a master key that a
passphrase (scrypt) or a 0600 key file unlocks, and a hash-chained audit log.

    from fer_core.store import FamilyStore
    store = FamilyStore.create(passphrase="correct horse battery")   # default_data_dir()
    pid = store.add_person("Alice"); store.add_embeddings(pid, vectors)
    store.gallery()                  # [GalleryEntry(pid, "Alice", (n, d) float32)]
    store.delete_person(pid); store.scrub()
"""
from fer_core.store._audit import AuditVerification
from fer_core.store._crypto import MIN_PASSPHRASE_CHARS, ScryptParams, create_key_file
from fer_core.store._errors import (
    DAMAGED_MESSAGE,
    FULL_MESSAGE,
    LONE_KEYS_MESSAGE,
    READ_ONLY_MESSAGE,
    RECORD_SET_MESSAGE,
    WRITE_FAILED_MESSAGE,
    WRONG_PASSPHRASE_LOGGED,
    WRONG_PASSPHRASE_UNLOGGED,
    EmbeddingError,
    KeyDestroyedError,
    KeyFileError,
    LoneKeysFileError,
    MasterKeyChangedError,
    PersonExistsError,
    PersonNameError,
    PersonNotFoundError,
    RecordSetError,
    StoreBusyError,
    StoreCorruptError,
    StoreDamagedError,
    StoreError,
    StoreExistsError,
    StoreFullError,
    StoreLockedError,
    StoreNotFoundError,
    StoreReadOnlyError,
    StoreWriteError,
    TamperedDataError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from fer_core.store._paths import default_data_dir
from fer_core.store._records import AnalysisEntry, AuditEntry, ConsentEntry, Damage, GalleryEntry, Person, Thumbnail
from fer_core.store._store import DATA_FILE, DEFAULT_BUSY_TIMEOUT_S, GALLERY_MIXES_MODELS, KEYS_FILE, FamilyStore

__all__ = [
    "DAMAGED_MESSAGE",
    "DATA_FILE",
    "DEFAULT_BUSY_TIMEOUT_S",
    "FULL_MESSAGE",
    "GALLERY_MIXES_MODELS",
    "KEYS_FILE",
    "LONE_KEYS_MESSAGE",
    "MIN_PASSPHRASE_CHARS",
    "READ_ONLY_MESSAGE",
    "RECORD_SET_MESSAGE",
    "WRITE_FAILED_MESSAGE",
    "WRONG_PASSPHRASE_LOGGED",
    "WRONG_PASSPHRASE_UNLOGGED",
    "AnalysisEntry",
    "AuditEntry",
    "AuditVerification",
    "ConsentEntry",
    "Damage",
    "EmbeddingError",
    "FamilyStore",
    "GalleryEntry",
    "KeyDestroyedError",
    "KeyFileError",
    "LoneKeysFileError",
    "MasterKeyChangedError",
    "Person",
    "PersonExistsError",
    "PersonNameError",
    "PersonNotFoundError",
    "RecordSetError",
    "ScryptParams",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreDamagedError",
    "StoreError",
    "StoreExistsError",
    "StoreFullError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreReadOnlyError",
    "StoreWriteError",
    "TamperedDataError",
    "Thumbnail",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "create_key_file",
    "default_data_dir",
]
