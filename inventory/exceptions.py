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


class ReservationNotHeld(Conflict):
    """The reservation was released, expired or consumed meanwhile (or before)."""

    code = "reservation_not_held"
    default_field = "status"


class PermitRequired(Conflict):
    """A controlled chemical (管制类危险化学品) for a buyer without a valid permit covering
    it (inventory.controls.permit_refusal names the control and the permit missing)."""

    code = "permit_required"
    default_field = "listing"
