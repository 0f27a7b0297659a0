"""Outgoing email through a real mail server."""

from hduce.adapters.email.smtp import SmtpDeliveryFailed, SmtpEmailSender

__all__ = ["SmtpDeliveryFailed", "SmtpEmailSender"]
