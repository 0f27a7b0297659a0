"""The waitlist: joining and leaving it, and the offers of freed slots."""
