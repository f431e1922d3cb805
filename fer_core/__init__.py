"""fer_core: on-device face detection, emotion and identity, and the encrypted family store.

Nothing under fer_core imports TensorFlow at run time; `fer_core.training` (TensorFlow) is only
imported by the training and export commands.
"""
from fer_core._errors import ImageError, ModelError, UnveilError

__all__ = ["ImageError", "ModelError", "UnveilError"]
