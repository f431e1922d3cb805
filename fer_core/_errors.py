"""Typed errors raised by fer_core. Each names what went wrong and what was (not) changed."""


class UnveilError(Exception):
    """Base class of every error Unveil raises on purpose."""


class ImageError(UnveilError, ValueError):
    """The input is not a usable image: empty, corrupt, truncated, not an image, or too large."""


class ModelError(UnveilError):
    """A model file is missing, corrupt, or its ONNX metadata does not describe it."""
