"""Ed25519-signed artefacts the central system publishes: their format, trust anchors, version
guard, and the offline watchlist.

Its own package, below `inspection`, so that the lane reads these files and a later sync
downlink installs them with the same verification; it never imports `appliance.inspection`.
"""
