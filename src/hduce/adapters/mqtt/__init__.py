"""Check-in devices over MQTT (FastStream's MQTT broker): ``gateway``."""
