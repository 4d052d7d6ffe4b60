"""Proposals of the matching engine (Match) and the record of each engine run (MatchRun).

A Match pairs one published listing with one open need for a quantity; its money columns
are the cost breakdown per tonne at the time it was proposed (docs/matching.md). The
engine keeps a proposal as long as its ``inputs_hash`` (everything it was computed from)
is unchanged, so re-running on unchanged data rewrites nothing and keeps ids; a proposal
whose inputs changed is superseded by a new row. Once either side has accepted, the
engine never touches the row again.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Material, StorageZone
from marketplace.models import Listing, Need
from parks.models import Enterprise


class MatchStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    ACCEPTED = "accepted", _("accepted by one side")
    AGREED = "agreed", _("agreed")
    DECLINED = "declined", _("declined")
    SUPERSEDED = "superseded", _("superseded")
    # An agreed match turned into an order: the order now holds the quantity (the lot's
    # reservation, the listing's and the need's ordered_kg), so the engine no longer counts
    # the match and may propose the pair again for what is left.
    ORDERED = "ordered", _("ordered")
    # Its order ended without delivery (rejected, cancelled or expired): the order gave its
    # quantity back and the engine may propose the pair again (the new proposal's
    # ``previous`` names this one). Neither live nor committed.
    RELEASED = "released", _("released")


# Matches that hold quantity of their listing and need: the engine offers only the rest.
COMMITTED = (MatchStatus.ACCEPTED, MatchStatus.AGREED)
# At most one of these per (listing, need): proposed (the engine may replace it) or committed.
LIVE = (MatchStatus.PROPOSED, *COMMITTED)
# Statuses a party may still decide from: nobody has accepted yet, or only the other side.
UNDECIDED = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED)


class RunKind(models.TextChoices):
    FULL = "full", _("full rematch")
    MATERIALS = "materials", _("rematch of materials")


class RunTrigger(models.TextChoices):
    CHANGE = "change", _("a change to a listing, need or lot")
    SCHEDULE = "schedule", _("the periodic full rematch")
    COMMAND = "command", _("the match command")
    API = "api", _("the API")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class MatchRun(models.Model):
    """One engine run: a full rematch fanned out over workers, or a rematch of materials.

    Counters are added to by each component's transaction (``F()`` updates), so a run that
    spans several workers sums correctly; ``pending_chunks`` counts the fanned-out tasks
    still to finish and the last one closes the run.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=RunKind.choices)
    trigger = models.CharField(_("trigger"), max_length=10, choices=RunTrigger.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    material_ids = models.JSONField(_("materials asked for"), default=list, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pending_chunks = models.PositiveIntegerField(_("chunks pending"), default=0)

    components = models.PositiveIntegerField(_("components"), default=0)
    listings = models.PositiveIntegerField(_("listings"), default=0)
    needs = models.PositiveIntegerField(_("needs"), default=0)
    arcs = models.PositiveBigIntegerField(_("feasible pairs"), default=0)
    matched_kg = models.DecimalField(
        _("matched (kg)"), max_digits=20, decimal_places=3, default=Decimal(0)
    )
    cost_yuan = models.DecimalField(
        _("total cost (CNY)"), max_digits=22, decimal_places=2, default=Decimal(0)
    )
    # The relaxed optimum (minimum order quantities ignored): equal to the above unless a
    # component had minimum orders that the solution could not meet at the relaxed value.
    relaxed_matched_kg = models.DecimalField(
        _("relaxed optimum matched (kg)"), max_digits=20, decimal_places=3, default=Decimal(0)
    )
    relaxed_cost_yuan = models.DecimalField(
        _("relaxed optimum cost (CNY)"), max_digits=22, decimal_places=2, default=Decimal(0)
    )
    moq_components = models.PositiveIntegerField(_("components with minimum orders"), default=0)
    created = models.PositiveIntegerField(_("proposals created"), default=0)
    kept = models.PositiveIntegerField(_("proposals kept"), default=0)
    superseded = models.PositiveIntegerField(_("proposals superseded"), default=0)
    # The parks of the sellers and buyers whose proposals the run created, changed or
    # withdrew (added by each chunk under the run's lock; matching.run_finished says them).
    park_ids = models.JSONField(_("parks concerned"), default=list, blank=True)
    read_seconds = models.FloatField(_("read time (s)"), default=0)
    solve_seconds = models.FloatField(_("solve time (s)"), default=0)
    write_seconds = models.FloatField(_("write time (s)"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return gettext("Matching run #%(id)s (%(kind)s, %(status)s)") % {
            "id": self.pk,
            "kind": self.get_kind_display(),
            "status": self.get_status_display(),
        }

    @property
    def quantity_gap(self) -> Decimal:
        """Share of the relaxed optimum's quantity that minimum orders cost (0 = none)."""
        if not self.relaxed_matched_kg:
            return Decimal(0)
        return (self.relaxed_matched_kg - self.matched_kg) / self.relaxed_matched_kg


# What a run reports, in the order the API and the admin show it.
RUN_FIELDS = (
    "kind",
    "trigger",
    "status",
    "requested_by",
    "material_ids",
    "started_at",
    "finished_at",
    "pending_chunks",
    "components",
    "listings",
    "needs",
    "arcs",
    "matched_kg",
    "cost_yuan",
    "relaxed_matched_kg",
    "relaxed_cost_yuan",
    "quantity_gap",
    "moq_components",
    "created",
    "kept",
    "superseded",
    "read_seconds",
    "solve_seconds",
    "write_seconds",
    "error",
)


class Match(models.Model):
    """A proposal: ``quantity_kg`` of ``listing`` for ``need``, priced per tonne delivered."""

    # Proposals are derived data that the engine rewrites in bulk (170k rows in a full
    # rematch of 100k listings). Their keys carry no database constraint: the deferred
    # checks (a FOR KEY SHARE lock on the listing, need, seller, buyer, material and run
    # of every inserted row) took a third of a fresh rematch's write time
    # (docs/performance.md). Django still applies on_delete (PROTECT: listings and needs
    # are withdrawn and closed, never deleted), the engine writes only keys it has just
    # read under its locks, and a proposal whose listing or need went away would be
    # superseded by the next rematch of its material. Orders, which commit stock, keep
    # their database constraints.
    listing = models.ForeignKey(
        Listing,
        on_delete=models.PROTECT,
        related_name="matches",
        verbose_name=_("listing"),
        db_constraint=False,
    )
    need = models.ForeignKey(
        Need,
        on_delete=models.PROTECT,
        related_name="matches",
        verbose_name=_("need"),
        db_constraint=False,
    )
    # Copied from the listing and need (they never change): scoping and filters need no join.
    seller = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("seller"),
        db_constraint=False,
        db_index=False,  # led by match_seller_recent
    )
    buyer = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("buyer"),
        db_constraint=False,
        db_index=False,  # led by match_buyer_recent
    )
    material = models.ForeignKey(
        Material,
        on_delete=models.PROTECT,
        related_name="matches",
        verbose_name=_("material"),
        db_constraint=False,
    )
    # The zone the need named when the match was proposed (None: a delivery point). What
    # live matches bring into a zone is read from here by every batch of a run
    # (matching.loading.Deliveries), one index-only scan, not a join of every match with
    # its need.
    delivery_zone = models.ForeignKey(
        StorageZone,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery zone"),
        db_constraint=False,
    )
    run = models.ForeignKey(
        MatchRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("proposed by run"),
        db_constraint=False,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MatchStatus.choices, default=MatchStatus.PROPOSED
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    price_per_t = models.DecimalField(_("unit price (CNY/t)"), max_digits=14, decimal_places=2)
    transport_per_t = models.DecimalField(_("transport (CNY/t)"), max_digits=14, decimal_places=2)
    distance_km = models.DecimalField(_("distance (km)"), max_digits=9, decimal_places=3)
    total_yuan = models.DecimalField(_("total (CNY)"), max_digits=20, decimal_places=2)
    explanation = models.TextField(_("explanation"))
    explanation_zh = models.TextField(_("explanation (Chinese)"))
    inputs_hash = models.CharField(_("inputs hash"), max_length=64)
    # The facts only the explanation states (rank, qualifying listings, need still open):
    # when they alone change, the engine rewrites the text in place.
    wording = models.CharField(_("wording key"), max_length=64, blank=True)
    seller_accepted_at = models.DateTimeField(_("seller accepted at"), null=True, blank=True)
    buyer_accepted_at = models.DateTimeField(_("buyer accepted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("agreed or declined at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declined by"),
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    # The released match whose pair this proposal offers again (filled by the engine). No
    # database constraint, like the other keys of a proposal.
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reproposals",
        verbose_name=_("proposed again after"),
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["material", "status"]),
            models.Index(fields=["seller", "status"]),
            models.Index(fields=["buyer", "status"]),
            # An enterprise's match list, newest first (``?role=seller|buyer``: WHERE
            # seller_id = X ORDER BY id DESC LIMIT n reads the index in order, no sort).
            models.Index(fields=["seller", "-id"], name="match_seller_recent"),
            models.Index(fields=["buyer", "-id"], name="match_buyer_recent"),
            # What acceptances hold of a need (matching.services.decisions): few rows, so
            # a partial index, not one more index over every proposal.
            models.Index(
                fields=["need"],
                condition=Q(status__in=["accepted", "agreed"]),
                name="match_need_committed",
            ),
            # What live matches bring into delivery zones (matching.loading.Deliveries),
            # read by every batch of a run: an index-only scan of the live rows into zones.
            models.Index(
                fields=["delivery_zone", "material", "status", "quantity_kg"],
                condition=Q(
                    status__in=["proposed", "accepted", "agreed"], delivery_zone__isnull=False
                ),
                name="match_live_into_zone",
            ),
        ]
        constraints = [
            # One live match per pair: two engine runs racing on one material cannot both
            # insert it, and a committed match is never proposed a second time.
            models.UniqueConstraint(
                fields=["listing", "need"],
                condition=Q(status__in=["proposed", "accepted", "agreed"]),
                name="match_one_live_per_pair",
            ),
            models.CheckConstraint(condition=Q(quantity_kg__gt=0), name="match_quantity_gt_0"),
            models.CheckConstraint(
                condition=~Q(seller=models.F("buyer")), name="match_parties_differ"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Match #%(id)s (%(status)s)") % {
            "id": self.pk,
            "status": self.get_status_display(),
        }


class PendingRematch(models.Model):
    """A material whose listings, needs or stock changed since its last rematch.

    The first change inserts the row and schedules one debounced rematch; later changes
    only bump ``version``. The rematch deletes the row if its version is still the one it
    read, else schedules itself again: a burst of changes to one material runs a handful
    of solves, not one per change (matching.services.triggers).
    """

    material = models.OneToOneField(
        Material,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("material"),
    )
    version = models.PositiveBigIntegerField(_("version"), default=1)
    requested_at = models.DateTimeField(_("first requested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pending rematch")
        verbose_name_plural = _("pending rematches")

    def __str__(self) -> str:
        return f"Pending rematch of material {self.material_id} (v{self.version})"
