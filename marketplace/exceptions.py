from common.exceptions import Conflict


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_field = "status"
