"""Domain errors of the safety app."""

from django.http import Http404


class ParkNotVisible(Http404):
    """A park outside the caller's scope: answered like one that does not exist (a 404 from
    a DRF view and a Django view alike), never a refusal that would tell it exists."""
