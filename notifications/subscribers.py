"""Registers the notifications' outbox subscriber (filled in below)."""
