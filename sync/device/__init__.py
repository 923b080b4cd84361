"""The device side of sync (`appliance sync enrol/run/status`): the uplink of the history to
central and the downlink of signed artefacts. Ships in the product wheel; never imports
`sync.central` (see sync/README.md)."""
