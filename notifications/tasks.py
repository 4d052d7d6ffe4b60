"""Thin Celery tasks of the notifications, all on the ``notifications`` queue: send
webhook deliveries and mails, and the sweeps that send what is due (retries, digests,
lost sends)."""

from datetime import datetime

from celery import shared_task

from common.events import BROKER_ERRORS
from notifications.services.mail import mail_users_due, mails_send_for
from notifications.services.webhooks import (
    webhook_deliveries_claim_due,
    webhook_deliveries_send,
)


@shared_task(name="notifications.tasks.webhooks_send")
def webhooks_send(ids: list[int], token: str) -> int:
    """Send these webhook deliveries if still due at ``token`` (else another send has)."""
    return webhook_deliveries_send(ids=ids, token=datetime.fromisoformat(token))


@shared_task(name="notifications.tasks.webhooks_sweep")
def webhooks_sweep() -> int:
    """Send the webhook deliveries that are due: retries and lost sends (every few s)."""
    batches = webhook_deliveries_claim_due()
    for ids, token in batches:
        try:
            webhooks_send.delay(ids, token.isoformat())
        except BROKER_ERRORS:
            break  # due again at ``token``
    return sum(len(ids) for ids, _token in batches)


@shared_task(name="notifications.tasks.mails_send")
def mails_send(user_id: int) -> int:
    """Send one user's due mails as one mail."""
    return mails_send_for(user_id=user_id)


@shared_task(name="notifications.tasks.mails_sweep")
def mails_sweep() -> int:
    """Send the due mails of every user (digests, retries, lost sends), one mail each."""
    users = mail_users_due()
    for user_id in users:
        mails_send_for(user_id=user_id)
    return len(users)
