"""The notifications' writes.

* ``fanout``: one event -> in-app notifications, mail deliveries and webhook deliveries,
  for the audience of its type (notifications.catalogue) and their choices;
* ``inbox``: a user's own notifications (read, all read) and preferences;
* ``webhooks``: endpoints (create, change, delete, rotate the secret, send a test event,
  redeliver) and the sending of their deliveries, retried on the schedule;
* ``mail``: e-mails, one per notification or a digest per user.
"""
