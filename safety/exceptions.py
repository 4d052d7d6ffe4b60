"""Domain errors of the safety app."""

from common.exceptions import DomainError


class ParkNotVisible(DomainError):
    """A park outside the caller's scope: answered like one that does not exist."""

    code = "not_found"
    status_code = 404
