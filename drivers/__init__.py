"""Real hardware adapters behind the ports of `appliance/ports.py`."""
