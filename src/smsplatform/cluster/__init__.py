"""What the nodes of a scaled-out platform share through Redis, fast: the frequency, per-IP and daily
limits and the request-id keys (limits.py), a connector's submits-per-second as one budget (rates.py),
its binds leased to nodes (binds.py), and whether this node can reach all it needs (health.py).

Everything here is off unless `redis_url` is set; the platform then runs as one node does, each
process counting for itself. `shared.py` holds the one connection every part uses, and what happens
when Redis does not answer: the caller hears `SharedUnavailable` at once, not after a timeout per call.
"""
