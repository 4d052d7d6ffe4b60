from common.exceptions import Conflict


class InvalidTransition(Conflict):
    """The order's status does not allow this step (409 on ``status``)."""

    code = "invalid_transition"
    default_field = "status"
