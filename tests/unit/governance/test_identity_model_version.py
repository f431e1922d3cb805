"""An identity model file replaced by another version under the same name (fer_core.identity.stored_name). The
reproduction: a store enrolled with the shipped face_recognition_mobilefacenet.onnx, then models/ given a file of
that name whose metadata declares another version (new weights: its embeddings cannot be compared with the old
ones). Embeddings were tagged with the file name alone, so the old prints were compared with the new model's: every
member was named by nobody (a rotated copy of the network named none of 3 enrolled people in their own photos),
`unveil family list` and the Family page said nothing, and retention erased them as unseen a year on."""
from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from fer_core.identity import (
    NAMED_BY_FILE_ALONE,
    EmbeddingModel,
    installed_model_name,
    load_embedding_model,
    stored_name,
)
from fer_core.model_files import models_dir
from governance import consent, family, retention
from governance.consent import ConsentRecord
from tests.support.identity_versions import another_version

SHIPPED = "face_recognition_mobilefacenet.onnx"
NEW_VERSION = "MobileFaceNet retrained (a later release)"
VECTORS = np.random.default_rng(11).standard_normal((4, 192)).astype(np.float32)


@pytest.fixture
def replaced(tmp_path: Path, monkeypatch) -> Path:
    """A models folder whose face_recognition_mobilefacenet.onnx declares another version, installed."""
    another_version(tmp_path, SHIPPED, NEW_VERSION)
    monkeypatch.setenv("UNVEIL_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("UNVEIL_IDENTITY_MODEL", raising=False)
    return tmp_path


def _enrol(store, name: str) -> str:
    record = ConsentRecord.new(subject=name, purpose="family photos", days=1000, now=consent.store_now(store), zone=UTC)
    return family.enroll(store, name, VECTORS, record, model=SHIPPED).person_id


@pytest.mark.parametrize("file", sorted(NAMED_BY_FILE_ALONE))
def test_the_shipped_models_keep_the_name_their_embeddings_were_stored_under(file):
    """Stores written before versions counted hold the shipped files' embeddings under the file name alone."""
    assert EmbeddingModel(models_dir() / file).name == file


def test_another_version_of_a_file_is_another_name():
    digest = hashlib.sha256(NEW_VERSION.encode()).hexdigest()[:12]
    assert stored_name(SHIPPED, NEW_VERSION) == f"{SHIPPED}@{digest}"
    shipped = NAMED_BY_FILE_ALONE[SHIPPED]  # the shipped version in a file of another name is another model too
    assert stored_name("my_model.onnx", shipped) == f"my_model.onnx@{hashlib.sha256(shipped.encode()).hexdigest()[:12]}"


def test_a_new_version_of_the_installed_file_is_not_compared_with_the_old_ones_prints(store, replaced):
    _enrol(store, "Ana Lima")
    model = load_embedding_model()
    assert (model.file, model.name) == (SHIPPED, stored_name(SHIPPED, NEW_VERSION)) and installed_model_name() == model.name
    assert family.gallery(store, model) is None  # the old code compared the new model's faces with Ana's old prints
    (ana,) = family.members(store)
    assert ana.must_reenrol(model.name)
    assert family.must_reenrol_notes([ana], model.name) == [
        family.MUST_REENROL.format(name="Ana Lima", theirs=SHIPPED, model=stored_name(SHIPPED, NEW_VERSION))]

    family.add_embeddings(store, ana.person_id, VECTORS + 1, model=model.name)  # re-embedded: named again
    assert family.gallery(store, model) is not None and not family.members(store)[0].must_reenrol(model.name)


def test_retention_does_not_erase_as_unseen_members_a_new_version_cannot_name(store, clock, replaced):
    _enrol(store, "Ana Lima")
    for _ in range(37):  # 370 days, a sweep every 10: the unseen_people period is 365 days
        clock.advance(days=10)
        retention.sweep(store)
    assert [person.name for person in store.people()] == ["Ana Lima"]
    assert retention.unseen_soon(store, zone=UTC) == []
