"""Self-hosted SMS platform."""
