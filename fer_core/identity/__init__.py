"""Family recognition: face embeddings from a pluggable ONNX model, enrolment, open-set identification.

    model = load_embedding_model()                      # the default: MobileFaceNet (192-d, cosine distance)
    people = {ana_id: embed_enrollment_photos(photos, detect=detect, model=model)}
    gallery = Gallery(people, labels={ana_id: "Ana"}, threshold=model.threshold, distance=model.distance)
    match = gallery.identify(model.embed_face(image, landmarks))
    match.person_id, match.label                         # ana_id and "Ana", or None for "unknown"
    # Gallery.from_entries(store.gallery(model=model.name), ...) builds it from the family store.

Storing embeddings (encrypted) and consent belong to the family store, not to this package.
"""
from fer_core.identity._enrollment import Detector, embed_enrollment_photos
from fer_core.identity._errors import EnrollmentError, IdentityError
from fer_core.identity._gallery import AMBIGUOUS, Gallery, GalleryEntryLike, Match
from fer_core.identity._metadata import IdentityContract, identity_metadata, parse_identity_metadata
from fer_core.identity._model import (
    EMBED_BATCH,
    NAMED_BY_FILE_ALONE,
    EmbeddingModel,
    installed_model_name,
    load_embedding_model,
    pairwise_distances,
    stored_name,
)

__all__ = [
    "AMBIGUOUS",
    "EMBED_BATCH",
    "Detector",
    "EmbeddingModel",
    "EnrollmentError",
    "Gallery",
    "GalleryEntryLike",
    "IdentityContract",
    "IdentityError",
    "Match",
    "NAMED_BY_FILE_ALONE",
    "embed_enrollment_photos",
    "identity_metadata",
    "installed_model_name",
    "load_embedding_model",
    "pairwise_distances",
    "parse_identity_metadata",
    "stored_name",
]
