"""Notifications: the outbox, its senders (log, SMTP, signed webhook) and their settings."""
