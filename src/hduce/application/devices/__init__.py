"""Check-in devices: registered by admins, heard over MQTT (docs/decisions/0013)."""
