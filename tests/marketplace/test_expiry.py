"""Needs past their date expire (marketplace.services.needs_expire_due, the beat task
marketplace.tasks.needs_expire): they leave matching, their owner hears of it, and they
can be given a later date and reopened."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from access.scope import SYSTEM
from common.exceptions import DomainError
from common.models import OutboxEvent
from marketplace.exceptions import InvalidTransition
from marketplace.models import Need, NeedStatus
from marketplace.services import (
    need_close,
    need_reopen,
    need_update,
    needs_expire_due,
)
from marketplace.tasks import needs_expire
from matching.models import Match, MatchStatus, PendingRematch
from tests import factories as f
from tests.concurrency import run_concurrently
from tests.matching.market import Market, live
from tests.outbox import deliver

World = dict[str, Any]
TODAY = date(2027, 3, 10)


@pytest.fixture
def m(world: World) -> Market:
    return Market(world)


def need_by(m: Market, when: date, **kwargs: Any) -> Need:
    return m.need(needed_by=when, **kwargs)


def expired_events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic="need.expired").order_by("id"))


def status(need: Need) -> str:
    need.refresh_from_db()
    return need.status


@pytest.mark.django_db
def test_needs_past_their_date_expire_todays_and_later_ones_do_not(m: Market) -> None:
    yesterday = need_by(m, TODAY - timedelta(days=1))
    long_ago = need_by(m, TODAY - timedelta(days=400))
    today = need_by(m, TODAY)
    later = need_by(m, TODAY + timedelta(days=1))

    assert needs_expire_due(today=TODAY) == 2

    assert [status(n) for n in (yesterday, long_ago, today, later)] == [
        NeedStatus.EXPIRED,
        NeedStatus.EXPIRED,
        NeedStatus.OPEN,
        NeedStatus.OPEN,
    ]


@pytest.mark.django_db
def test_closed_needs_stay_closed(m: Market) -> None:
    closed = need_close(actor=SYSTEM, need=need_by(m, TODAY - timedelta(days=3)))
    assert needs_expire_due(today=TODAY) == 0
    assert status(closed) == NeedStatus.CLOSED
    assert expired_events() == []


@pytest.mark.django_db
def test_one_event_per_expired_need_names_owner_and_materials(m: Market, world: World) -> None:
    substitute = f.MaterialFactory.create()
    plain = need_by(m, TODAY - timedelta(days=1))
    with_substitute = need_by(m, TODAY - timedelta(days=2), buyer="c", substitutes=[substitute])
    need_by(m, TODAY)

    needs_expire_due(today=TODAY)

    assert [e.payload for e in expired_events()] == [
        {
            "need_id": plain.pk,
            "enterprise_id": world["enterprises"]["b"].pk,
            "material_ids": [m.material.pk],
        },
        {
            "need_id": with_substitute.pk,
            "enterprise_id": world["enterprises"]["c"].pk,
            "material_ids": sorted([m.material.pk, substitute.pk]),
        },
    ]


@pytest.mark.django_db
def test_expiry_is_idempotent(m: Market) -> None:
    need = need_by(m, TODAY - timedelta(days=1))
    assert needs_expire_due(today=TODAY) == 1
    updated_at = Need.objects.get(pk=need.pk).updated_at

    assert needs_expire_due(today=TODAY) == 0
    assert needs_expire_due(today=TODAY + timedelta(days=5)) == 0

    assert len(expired_events()) == 1
    assert Need.objects.get(pk=need.pk).updated_at == updated_at


@pytest.mark.django_db
def test_a_backlog_expires_batch_after_batch(m: Market) -> None:
    needs = [need_by(m, TODAY - timedelta(days=i + 1)) for i in range(7)]
    assert needs_expire_due(today=TODAY, batch=3) == 7
    assert {status(n) for n in needs} == {NeedStatus.EXPIRED}
    assert len(expired_events()) == 7


@pytest.mark.django_db
def test_today_defaults_to_the_local_date(m: Market) -> None:
    local_today = timezone.localdate()
    past = need_by(m, local_today - timedelta(days=1))
    current = need_by(m, local_today)
    assert needs_expire_due() == 1
    assert (status(past), status(current)) == (NeedStatus.EXPIRED, NeedStatus.OPEN)


@pytest.mark.django_db
def test_the_beat_task_expires_due_needs(m: Market) -> None:
    need = need_by(m, timezone.localdate() - timedelta(days=2))
    assert needs_expire.apply().get() == 1
    assert status(need) == NeedStatus.EXPIRED
    entry = settings.CELERY_BEAT_SCHEDULE["needs-expire"]
    assert entry == {"task": "marketplace.tasks.needs_expire", "schedule": 3600.0}


@pytest.mark.django_db
def test_an_expired_needs_proposals_are_superseded(m: Market) -> None:
    listing = m.offer()
    need = m.need()
    m.rematch()
    proposal = Match.objects.get(listing=listing, need=need)
    assert proposal.status == MatchStatus.PROPOSED

    assert needs_expire_due(today=need.needed_by + timedelta(days=1)) == 1
    # The outbox delivers need.expired to the engine's subscriber: a rematch is asked for.
    PendingRematch.objects.all().delete()
    (event,) = expired_events()
    assert deliver(event)
    assert PendingRematch.objects.filter(material_id=m.material.pk).exists()

    m.rematch()
    proposal.refresh_from_db()
    assert proposal.status == MatchStatus.SUPERSEDED
    assert live(need=need) == []


@pytest.mark.django_db
def test_an_expired_need_is_final_until_given_a_later_date(m: Market) -> None:
    local_today = timezone.localdate()
    need = need_by(m, local_today - timedelta(days=1))
    needs_expire_due()

    with pytest.raises(DomainError) as refused:
        need_reopen(actor=SYSTEM, need=need)
    assert refused.value.field == "needed_by"
    assert status(need) == NeedStatus.EXPIRED
    with pytest.raises(InvalidTransition):
        need_close(actor=SYSTEM, need=need)

    # A later date keeps it expired (no part in matching) until its owner reopens it.
    need = need_update(actor=SYSTEM, need=need, needed_by=local_today + timedelta(days=10))
    assert need.status == NeedStatus.EXPIRED
    need = need_reopen(actor=SYSTEM, need=need)
    assert need.status == NeedStatus.OPEN
    assert OutboxEvent.objects.latest("id").topic == "need.opened"
    assert needs_expire_due() == 0


@pytest.mark.django_db
def test_a_closed_need_past_its_date_is_not_reopened(m: Market) -> None:
    need = need_close(actor=SYSTEM, need=need_by(m, timezone.localdate() - timedelta(days=1)))
    with pytest.raises(DomainError) as refused:
        need_reopen(actor=SYSTEM, need=need)
    assert refused.value.field == "needed_by"
    assert status(need) == NeedStatus.CLOSED
    with pytest.raises(InvalidTransition):
        need_update(actor=SYSTEM, need=need, note="still closed")


@pytest.mark.django_db
def test_an_open_need_is_not_reopened(m: Market) -> None:
    with pytest.raises(InvalidTransition):
        need_reopen(actor=SYSTEM, need=m.need())


@pytest.mark.django_db
def test_the_api_filters_reopens_and_patches_expired_needs(m: Market, world: World) -> None:
    from rest_framework.test import APIClient

    local_today = timezone.localdate()
    expired = need_by(m, local_today - timedelta(days=1), buyer="a1")
    open_need = need_by(m, local_today + timedelta(days=5), buyer="a1")
    needs_expire_due()
    client = APIClient()
    client.force_authenticate(world["users"]["enterprise_admin"])

    listed = client.get("/api/v1/needs/", {"status": "expired"}).json()["results"]
    assert [n["id"] for n in listed] == [expired.pk]
    assert listed[0]["status"] == "expired"
    assert client.get("/api/v1/needs/", {"status": "open"}).json()["results"][0]["id"] == (
        open_need.pk
    )

    url = f"/api/v1/needs/{expired.pk}/"
    refused = client.post(f"{url}reopen/")
    assert refused.status_code == 400, refused.json()
    later = (local_today + timedelta(days=20)).isoformat()
    assert client.patch(url, {"needed_by": later}, format="json").status_code == 200
    reopened = client.post(f"{url}reopen/")
    assert reopened.status_code == 200, reopened.json()
    assert reopened.json()["status"] == "open"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_concurrent_expiries_expire_each_need_once(m: Market) -> None:
    needs = [need_by(m, TODAY - timedelta(days=1), buyer=b) for b in ("b", "c") * 6]
    counts = run_concurrently(4, lambda i: needs_expire_due(today=TODAY, batch=2))
    assert sum(counts) == len(needs)
    assert {status(n) for n in needs} == {NeedStatus.EXPIRED}
    assert sorted(e.payload["need_id"] for e in expired_events()) == sorted(n.pk for n in needs)


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_expiry_skips_a_need_being_changed_and_the_change_wins(m: Market) -> None:
    """A need locked by need_update is skipped, not waited for: the update gives it a later
    date, and the next run leaves it open."""
    import threading

    from django.db import connection, transaction

    local_today = timezone.localdate()
    need = need_by(m, local_today - timedelta(days=1))
    locked, done = threading.Event(), threading.Event()

    def update() -> None:
        try:
            with transaction.atomic():
                Need.objects.select_for_update().get(pk=need.pk)
                locked.set()
                done.wait(10)
                need_update(actor=SYSTEM, need=need, needed_by=local_today + timedelta(days=3))
        finally:
            connection.close()

    thread = threading.Thread(target=update)
    thread.start()
    assert locked.wait(10)
    try:
        assert needs_expire_due() == 0
    finally:
        done.set()
        thread.join(10)
    assert needs_expire_due() == 0
    assert status(need) == NeedStatus.OPEN
