"""Typed errors of the explanation package."""
from fer_core import UnveilError


class ExplanationError(UnveilError, ValueError):
    """A model cannot be explained (it lacks the Grad-CAM outputs), or an explanation request is invalid
    (unknown emotion or method, a saliency map that does not fit its image)."""
