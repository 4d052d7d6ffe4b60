from common.exceptions import Conflict, DomainError, NotPermitted


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_field = "quantity"


class CapacityExceeded(DomainError):
    code = "capacity_exceeded"
    default_field = "zone"


class IncompatibleStorage(DomainError):
    code = "incompatible_storage"
    default_field = "zone"


class ZoneNotPermitted(NotPermitted):
    code = "zone_not_permitted"
    default_field = "zone"
