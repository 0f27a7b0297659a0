"""Outgoing email through a real mail server."""

from hduce.adapters.email.background import BackgroundLinkMailer
from hduce.adapters.email.smtp import SmtpDeliveryFailed, SmtpEmailSender

__all__ = ["BackgroundLinkMailer", "SmtpDeliveryFailed", "SmtpEmailSender"]
