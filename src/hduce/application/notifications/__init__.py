"""Notifications: from events to stored notifications, delivery, the inbox."""
