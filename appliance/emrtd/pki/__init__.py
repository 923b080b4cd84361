"""Document authenticity: ICAO 9303 Passive Authentication and the CSCA trust store.

`passive.passive_authentication` is the entry point for EF.SOD; `trust_store.TrustStore` holds
the CSCAs, link certificates and CRLs imported by `appliance trust import`.
"""
