"""SQLite schemas. Two files in the data directory:

unveil.db  everything the app keeps: people, embeddings, thumbnails, consent records, saved analyses,
           retention settings, the audit log and the passphrase / key-file slots. Every personal value
           is an AES-GCM ciphertext; the plaintext columns hold only random ids, timestamps, counts
           and model names.
keys.db    only the wrapped data keys, one per person (indexed by random person id), one per saved
           analysis and one per thumbnail. Keeping them apart is what makes erasure provable: a copy of
           unveil.db taken before a purge (a backup) is useless for that person, that analysis or that
           thumbnail once its key is deleted here, even with the passphrase.
           It also holds the keys' pending creations and destructions (so a crash between the two
           files' commits is told apart from damage) and an anchor of the audit log's sealed head.

Version 2 added `manifests` (each person's sealed list of their rows); a version 1 store is
migrated when it is first unlocked. `thumbnails.key_owner` (THUMBNAIL_KEYS) came later and is added the same
way; NULL there means a thumbnail sealed, before it, under its person's key.

Version 3 is version 2 as written since thumbnails and kept results have keys of their own and the audit head
its format 2 (6 December 2026): the same tables, and every version 2 store still opens. The code of 4-6 December
read only versions 1 and 2, and took what this code writes for damage ('audit log BROKEN', thumbnails that fail
authentication, keys.db holding keys that nothing uses); its erasure left the member's thumbnail keys in keys.db,
after which this code found the store damaged and its sweep refused. So a store is marked version 3 when it is
created or unlocked here, and that code refuses it at open ('unknown schema version'), before it reads or writes
anything. A store of a later version is refused here the same way, as too new (StoreTooNewError).
"""
from __future__ import annotations

SCHEMA_VERSION = "3"
LEGACY_SCHEMA_VERSION = "1"  # before manifests
READABLE_SCHEMA_VERSIONS = (LEGACY_SCHEMA_VERSION, "2", SCHEMA_VERSION)

# Each person's rows, listed by id and sealed under their data key: deleting, adding or hiding a row
# (or damaging the index that finds it) is caught on read, and erasure follows this list.
MANIFESTS = """
CREATE TABLE IF NOT EXISTS manifests (
    person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    body BLOB NOT NULL
);
"""

# Each thumbnail's own data key (named thumbnail:<random>), destroyed when the thumbnail is deleted: a
# backup's copy of a thumbnail that retention deleted could otherwise be read with its person's key.
THUMBNAIL_KEYS = "ALTER TABLE thumbnails ADD COLUMN key_owner TEXT"

MAIN = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE slots (
    kind TEXT PRIMARY KEY CHECK (kind IN ('passphrase', 'key_file')),
    salt BLOB NOT NULL,
    n INTEGER, r INTEGER, p INTEGER,
    check_tag BLOB NOT NULL,
    wrapped_master BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name BLOB NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL
);
CREATE TABLE embeddings (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX embeddings_by_person ON embeddings(person_id);
CREATE TABLE thumbnails (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    image BLOB NOT NULL,
    created_at REAL NOT NULL,
    key_owner TEXT
);
CREATE INDEX thumbnails_by_person ON thumbnails(person_id);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    details BLOB NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX consents_by_person ON consents(person_id);
CREATE TABLE analyses (
    id TEXT PRIMARY KEY,
    key_owner TEXT NOT NULL,
    result BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE analysis_people (
    analysis_id TEXT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (analysis_id, person_id)
);
CREATE INDEX analysis_people_by_person ON analysis_people(person_id);
CREATE TABLE retention (kind TEXT PRIMARY KEY, days INTEGER CHECK (days IS NULL OR days >= 0), updated_at REAL NOT NULL);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    event TEXT NOT NULL,
    person_id TEXT,
    name BLOB,          -- the person's name sealed under their data key; dropped when they are erased
    name_digest BLOB,   -- SHA-256 of that ciphertext: the chain covers this, so dropping the name keeps it intact
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    mac BLOB
);
""" + MANIFESTS

# Committed to keys.db before the unveil.db commit they belong to, cleared after it: a key without
# rows is collected at open only when a pending entry explains it. `rewrap` holds the data keys
# wrapped under a new master key while a rotation commits.
KEYS_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS pending (owner TEXT PRIMARY KEY, action TEXT NOT NULL CHECK (action IN ('create', 'destroy')));
CREATE TABLE IF NOT EXISTS rewrap (owner TEXT PRIMARY KEY, master_id TEXT NOT NULL, wrapped BLOB NOT NULL);
"""

KEYS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE data_keys (owner TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at REAL NOT NULL);
""" + KEYS_BOOKKEEPING


# Tables (and their sealed columns) that hold a person's data; used by erasure counts and check().
PERSON_TABLES = ("embeddings", "thumbnails", "consents")
