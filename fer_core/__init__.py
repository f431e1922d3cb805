"""fer_core: on-device face detection, emotion and identity, and the encrypted family store.

    from fer_core import FaceAnalyzer
    analyzer = FaceAnalyzer()             # loads the shipped models once
    faces = analyzer.analyze("photo.jpg")  # list[Face], reading order

Nothing under fer_core imports TensorFlow at run time; `fer_core.training` (TensorFlow) is only
imported by the training and export commands. The encrypted store is `fer_core.store`.
"""
from fer_core._errors import ImageError, ImageTooLargeError, ModelError, UnveilError
from fer_core.analyzer import Face, FaceAnalyzer
from fer_core.detection import DetectedFace, FaceDetector, detect_faces
from fer_core.emotion import EmotionModel
from fer_core.identity import (
    EmbeddingModel,
    EnrollmentError,
    Gallery,
    IdentityError,
    Match,
    embed_enrollment_photos,
    load_embedding_model,
)
from fer_core.images import MAX_PIXELS, ImageSource, load_image

__all__ = [
    "MAX_PIXELS",
    "DetectedFace",
    "EmbeddingModel",
    "EmotionModel",
    "EnrollmentError",
    "Face",
    "FaceAnalyzer",
    "FaceDetector",
    "Gallery",
    "IdentityError",
    "ImageError",
    "ImageTooLargeError",
    "ImageSource",
    "Match",
    "ModelError",
    "UnveilError",
    "detect_faces",
    "embed_enrollment_photos",
    "load_embedding_model",
    "load_image",
]
