"""Typed errors raised by fer_core. Each names what went wrong and what was (not) changed."""


class UnveilError(Exception):
    """Base class of every error Unveil raises on purpose."""


class ImageError(UnveilError, ValueError):
    """The input is not a usable image: empty, corrupt, truncated, not an image, or too large.

    `reason` says what is wrong; `source` names the input (a path, "image bytes") when there is one, and
    the message is "source: reason", so a page that names the file itself can show the reason alone."""

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


class ImageTooLargeError(ImageError):
    """The image has more pixels than the limit it is read under (fer_core.images.MAX_PIXELS by default)."""


class ModelError(UnveilError):
    """A model file is missing, corrupt, or its ONNX metadata does not describe it."""
