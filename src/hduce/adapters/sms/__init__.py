"""Outgoing SMS through an HTTP provider."""

from hduce.adapters.sms.http import HttpSmsSender, SmsDeliveryFailed

__all__ = ["HttpSmsSender", "SmsDeliveryFailed"]
