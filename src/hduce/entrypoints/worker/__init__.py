"""The worker process: consumers, outbox relay and sweeps, without HTTP."""
