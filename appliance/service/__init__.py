"""The appliance as a long-running service: what `appliance serve` plugs into.

`notify.py` tells systemd when the service is ready and, through the lane loop's heartbeat,
that the lane is still alive (see docs/architecture.md, *Deployment*).
"""
