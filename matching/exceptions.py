"""Domain errors of matching. Each names the request field it is about (see common.errors)."""

from common.exceptions import Conflict


class InvalidTransition(Conflict):
    """The match is not in a status that allows the decision (or this side already took it)."""

    code = "invalid_transition"
    default_field = "status"


class QuantityExceeded(Conflict):
    """Accepting would commit more than the listing offers, the lot holds unreserved, or the
    need asks for."""

    code = "quantity_exceeded"
    default_field = "quantity_kg"
