"""Typed errors of the identity part: catchable as UnveilError (and ValueError, since the input is at fault)."""
from fer_core._errors import UnveilError


class IdentityError(UnveilError, ValueError):
    """Embeddings or a gallery that cannot be used: wrong shape, not finite, bad names or settings."""


class EnrollmentError(IdentityError):
    """Enrolment photos were refused (no face, several faces); nothing is enrolled.

    `refused` maps each refused photo's name (as the caller gave it) to the reason, and the
    message names them all, so the user can replace every bad photo in one go.
    """

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = dict(refused)
        listing = "; ".join(f"{photo}: {reason}" for photo, reason in self.refused.items())
        super().__init__(f"{listing} (enrolment needs photos that each show exactly one face)")
