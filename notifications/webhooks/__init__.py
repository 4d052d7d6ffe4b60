"""Webhooks to partner systems: signing (Standard Webhooks), the SSRF-guarded sender and
the retry schedule. Pure modules: no database; the notifications app's services use them."""
