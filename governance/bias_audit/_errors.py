"""The typed error of the bias audit."""
from fer_core import UnveilError


class AuditError(UnveilError, ValueError):
    """The audit cannot run as asked: unusable audit set, bad settings, or a predictor breaking its contract.

    Nothing is written when it is raised: reports are only written from a finished audit.
    """
