"""Stable reason codes and the exception that carries them.

Reason codes are part of the public contract (JSON reports, exit codes, the kiosk's messages):
never rename one; add new ones instead.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes, shared by every report the appliance produces."""

    OK = "OK"
    # Chip access and transport
    CHIP_NOT_PRESENT = "CHIP_NOT_PRESENT"
    CHIP_REMOVED = "CHIP_REMOVED"
    CHIP_ACCESS_DENIED = "CHIP_ACCESS_DENIED"
    CHIP_COMMUNICATION = "CHIP_COMMUNICATION"
    CHIP_FILE_NOT_FOUND = "CHIP_FILE_NOT_FOUND"
    CHIP_PROTOCOL_UNSUPPORTED = "CHIP_PROTOCOL_UNSUPPORTED"
    READER_NOT_FOUND = "READER_NOT_FOUND"
    SM_MAC_INVALID = "SM_MAC_INVALID"
    SM_PROTOCOL = "SM_PROTOCOL"
    PACE_FAILED = "PACE_FAILED"
    BAC_FAILED = "BAC_FAILED"
    READER_BUSY = "READER_BUSY"  # the reader (slot) already holds another card or session
    # Logical data structure
    LDS_MALFORMED = "LDS_MALFORMED"
    LDS_UNSUPPORTED = "LDS_UNSUPPORTED"
    LDS_NONSTANDARD = "LDS_NONSTANDARD"  # warning: read despite a deviation from the standard
    # MRZ
    MRZ_FORMAT = "MRZ_FORMAT"
    MRZ_CHECK_DIGIT = "MRZ_CHECK_DIGIT"
    MRZ_UNREADABLE = "MRZ_UNREADABLE"
    MRZ_COUNTRY_UNKNOWN = "MRZ_COUNTRY_UNKNOWN"  # warning: code not in ICAO 9303-3
    MRZ_DATE_INVALID = "MRZ_DATE_INVALID"  # warning: well-formed digits, not a real date
    MRZ_NAME_TRUNCATED = "MRZ_NAME_TRUNCATED"  # warning: the name fills its field
    MRZ_NONSTANDARD = "MRZ_NONSTANDARD"  # a national layout outside ICAO 9303, lines as printed
    # Passive / chip authentication (issue: document authenticity)
    PA_SIGNATURE_INVALID = "PA_SIGNATURE_INVALID"
    PA_DS_UNTRUSTED = "PA_DS_UNTRUSTED"
    PA_DS_REVOKED = "PA_DS_REVOKED"
    PA_CERT_EXPIRED = "PA_CERT_EXPIRED"
    PA_DG_HASH_MISMATCH = "PA_DG_HASH_MISMATCH"
    PA_DG_NOT_IN_SOD = "PA_DG_NOT_IN_SOD"
    PA_SOD_COM_MISMATCH = "PA_SOD_COM_MISMATCH"
    PA_COUNTRY_MISMATCH = "PA_COUNTRY_MISMATCH"
    PA_NOT_CHECKED = "PA_NOT_CHECKED"
    PA_SOD_MISSING = "PA_SOD_MISSING"  # no (readable) EF.SOD: nothing vouches for the data
    PA_DEVIATION_LISTED = "PA_DEVIATION_LISTED"
    TRUST_LIST_INVALID = "TRUST_LIST_INVALID"
    CA_FAILED = "CA_FAILED"
    AA_FAILED = "AA_FAILED"
    CAM_FAILED = "CAM_FAILED"
    CHIP_CLONE_SUSPECTED = "CHIP_CLONE_SUSPECTED"
    DG1_MRZ_MISMATCH = "DG1_MRZ_MISMATCH"
    SOD_CONTENT_TYPE_NONSTANDARD = "SOD_CONTENT_TYPE_NONSTANDARD"  # warning: e.g. id-data
    # Extended Access Control (Terminal Authentication before DG3/DG4)
    TA_FAILED = "TA_FAILED"  # the chip refused the terminal's authentication or its signature
    TA_CHAIN_UNTRUSTED = "TA_CHAIN_UNTRUSTED"  # chain not from a CVCA the chip trusts, or refused
    TA_CERT_EXPIRED = "TA_CERT_EXPIRED"  # a terminal chain certificate is not valid today
    TA_RIGHTS_MISSING = "TA_RIGHTS_MISSING"  # the chain grants no right to the data group asked
    # trust import: the file verifies, but chains to no CSCA already trusted or pinned (--anchor)
    TRUST_ANCHOR_UNKNOWN = "TRUST_ANCHOR_UNKNOWN"
    # Inspection / policy
    DOCUMENT_EXPIRED = "DOCUMENT_EXPIRED"
    DOCUMENT_TYPE_NOT_ALLOWED = "DOCUMENT_TYPE_NOT_ALLOWED"
    WATCHLIST_HIT = "WATCHLIST_HIT"
    WATCHLIST_INVALID = "WATCHLIST_INVALID"  # unsigned, tampered or rolled back: refused
    WATCHLIST_STALE = "WATCHLIST_STALE"  # older than the policy allows: fail closed
    DOCUMENT_REUSED = "DOCUMENT_REUSED"
    STEP_MISSING = "STEP_MISSING"
    STEP_TIMEOUT = "STEP_TIMEOUT"
    POLICY_UNSIGNED = "POLICY_UNSIGNED"
    POLICY_INVALID = "POLICY_INVALID"
    TAILGATING = "TAILGATING"
    GATE_MANUAL_OPEN = "GATE_MANUAL_OPEN"
    GATE_FAULT = "GATE_FAULT"
    # the lane loop (appliance/inspection/lane_loop.py) and its service
    LANE_OUT_OF_SERVICE = "LANE_OUT_OF_SERVICE"  # a device the lane needs is missing or silent
    LANE_BUSY = "LANE_BUSY"  # a check is already waiting or running
    TRAVELLER_TIMEOUT = "TRAVELLER_TIMEOUT"  # document left on the reader, nobody through the gate
    CHECK_CANCELLED = "CHECK_CANCELLED"  # cancelled by the officer, or the service stopped
    LANE_MAINTENANCE = "LANE_MAINTENANCE"  # out of service for a technician's gate test
    SPEECH_UNAVAILABLE = "SPEECH_UNAVAILABLE"  # kiosk spoken prompts: no espeak-ng, or it failed
    # the simulated authority's key would join a data directory that trusts a real one
    DEMO_AUTHORITY_REFUSED = "DEMO_AUTHORITY_REFUSED"
    # History
    HISTORY_TAMPERED = "HISTORY_TAMPERED"
    HISTORY_STORAGE = "HISTORY_STORAGE"
    # Biometrics
    FACE_NO_MATCH = "FACE_NO_MATCH"
    FACE_QUALITY = "FACE_QUALITY"
    FACE_NOT_LIVE = "FACE_NOT_LIVE"
    FACE_NOT_FOUND = "FACE_NOT_FOUND"
    IMAGE_UNREADABLE = "IMAGE_UNREADABLE"
    CAMERA_UNAVAILABLE = "CAMERA_UNAVAILABLE"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"  # more pixels (or bytes) than the configured limit
    IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"  # too few pixels across, or a strip, for a face or MRZ
    MORPH_SUSPECTED = "MORPH_SUSPECTED"  # the chip photo may blend two faces: officer check
    # Sync with central (sync/central): what the central service answers a device
    SYNC_AUTH_FAILED = "SYNC_AUTH_FAILED"  # unknown device, missing or bad request signature
    SYNC_REPLAY = "SYNC_REPLAY"  # a request nonce already seen, or a time outside the window
    SYNC_DEVICE_REVOKED = "SYNC_DEVICE_REVOKED"
    SYNC_TOKEN_INVALID = "SYNC_TOKEN_INVALID"  # enrolment token unknown, used or expired
    SYNC_FORK_DETECTED = "SYNC_FORK_DETECTED"  # the device's log is not an extension of before
    SYNC_CURSOR_STALE = "SYNC_CURSOR_STALE"  # batch not from central's cursor: fetch it, resend
    SYNC_PROOF_INVALID = "SYNC_PROOF_INVALID"  # events not in the signed tree (or differ)
    SYNC_CHECKPOINT_INVALID = "SYNC_CHECKPOINT_INVALID"  # malformed or wrongly signed checkpoint
    SYNC_BATCH_INVALID = "SYNC_BATCH_INVALID"  # malformed request, leaf or event
    SYNC_NOT_FOUND = "SYNC_NOT_FOUND"
    SYNC_UNAVAILABLE = "SYNC_UNAVAILABLE"  # central's database unreachable: retry later
    SYNC_ARTEFACT_VERSION = "SYNC_ARTEFACT_VERSION"  # a published version not above the current
    # Sync, the device side (sync/device)
    SYNC_NOT_ENROLLED = "SYNC_NOT_ENROLLED"  # `appliance sync enrol` has not been run
    SYNC_UNREACHABLE = "SYNC_UNREACHABLE"  # central did not answer (offline, timeout, cut)
    SYNC_TLS_PIN_MISMATCH = "SYNC_TLS_PIN_MISMATCH"  # central's TLS key is not the pinned one
    SYNC_ARTEFACT_INVALID = "SYNC_ARTEFACT_INVALID"  # bad signature, manifest or content
    SYNC_ARTEFACT_UNSIGNED = "SYNC_ARTEFACT_UNSIGNED"  # no signature, or by a key not trusted
    SYNC_ARTEFACT_ROLLBACK = "SYNC_ARTEFACT_ROLLBACK"  # older than the version in force
    SYNC_BACKLOG_ALARM = "SYNC_BACKLOG_ALARM"  # more unsent checks than [sync] backlog_alarm
    # Monitoring (`appliance history stats`)
    FACE_GROUP_RATE_ALARM = (
        "FACE_GROUP_RATE_ALARM"  # a group's face failure rate > others' x factor
    )
    # Usage / faults
    USAGE = "USAGE"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    FILE_NOT_REGULAR = "FILE_NOT_REGULAR"  # a device, FIFO, socket or directory given as a file
    FILE_TOO_LARGE = "FILE_TOO_LARGE"  # larger than the configured limit for its kind
    CONFIG_INVALID = "CONFIG_INVALID"  # config file missing, not TOML, unknown key, bad value
    DATA_DIR_UNAVAILABLE = "DATA_DIR_UNAVAILABLE"  # cannot be created or written
    # accounts and sessions of the service (`appliance users`, `/api/v1/session`)
    AUTH_REQUIRED = "AUTH_REQUIRED"  # no session (or an unknown one): log in first
    AUTH_FAILED = "AUTH_FAILED"  # unknown account, wrong password or a disabled account
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"  # too many failed logins: locked for a while
    LOGIN_THROTTLED = "LOGIN_THROTTLED"  # too many logins from one address in a short time
    SESSION_EXPIRED = "SESSION_EXPIRED"  # idle or absolute session lifetime reached
    CSRF_INVALID = "CSRF_INVALID"  # a state change without the session's CSRF token
    ROLE_FORBIDDEN = "ROLE_FORBIDDEN"  # the account's role may not use this route
    TLS_REQUIRED = "TLS_REQUIRED"  # beyond loopback the service answers over TLS only
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    ACCOUNT_UNKNOWN = "ACCOUNT_UNKNOWN"
    PASSWORD_WEAK = "PASSWORD_WEAK"  # shorter than the minimum length
    DECISION_NOTE_REQUIRED = "DECISION_NOTE_REQUIRED"  # an officer's override without a note
    # Self-test (`appliance selftest`): the state of one part of the appliance
    TRUST_STORE_EMPTY = "TRUST_STORE_EMPTY"  # no CSCA: no document can be proven genuine
    CRL_STALE = "CRL_STALE"  # warning: an issuer's newest CRL is past its nextUpdate
    CRL_MISSING = "CRL_MISSING"  # warning: a trusted CSCA has no CRL: revocation unknown
    WATCHLIST_MISSING = "WATCHLIST_MISSING"  # the policy requires a watchlist, none installed
    CLOCK_BEFORE_BUILD = "CLOCK_BEFORE_BUILD"  # the device clock is earlier than the build date
    CLOCK_BEHIND_HISTORY = "CLOCK_BEHIND_HISTORY"  # earlier than the newest history record
    DISK_LOW = "DISK_LOW"  # free space in the data directory below the configured minimum
    # Barcodes: seals (ICAO VDS, VDS-NC), boarding passes (IATA BCBP), health passes (EU DCC)
    BARCODE_NOT_FOUND = "BARCODE_NOT_FOUND"  # no symbol could be decoded in the image
    BARCODE_MALFORMED = "BARCODE_MALFORMED"  # truncated or corrupt payload of a known kind
    BARCODE_UNKNOWN_KIND = "BARCODE_UNKNOWN_KIND"  # a payload of no kind the appliance reads
    BARCODE_TOO_MANY_SYMBOLS = "BARCODE_TOO_MANY_SYMBOLS"  # more symbols than one image may hold
    SEAL_C40_INVALID = "SEAL_C40_INVALID"  # bytes that are not C40 text where C40 is required
    SEAL_VERSION_UNSUPPORTED = "SEAL_VERSION_UNSUPPORTED"
    SEAL_DOCUMENT_TYPE_UNKNOWN = "SEAL_DOCUMENT_TYPE_UNKNOWN"  # warning: features left raw
    SEAL_FEATURE_INVALID = "SEAL_FEATURE_INVALID"  # a feature of the wrong length or content
    SEAL_SIGNATURE_INVALID = "SEAL_SIGNATURE_INVALID"
    SEAL_NOT_SIGNED = "SEAL_NOT_SIGNED"  # no signature: nothing vouches for the data
    SEAL_SIGNER_UNKNOWN = "SEAL_SIGNER_UNKNOWN"  # no certificate found for the signer reference
    SEAL_SIGNER_UNTRUSTED = "SEAL_SIGNER_UNTRUSTED"  # the signer chains to no trusted CSCA
    SEAL_SIGNER_REVOKED = "SEAL_SIGNER_REVOKED"
    SEAL_CERT_EXPIRED = "SEAL_CERT_EXPIRED"  # signer or CSCA not valid at the time checked
    SEAL_COUNTRY_MISMATCH = "SEAL_COUNTRY_MISMATCH"  # seal, signer and CSCA name other countries
    SEAL_MRZ_MISMATCH = "SEAL_MRZ_MISMATCH"  # a visa seal's passport differs from the one shown
    # Iris (appliance/biometrics/iris)
    IRIS_NO_MATCH = "IRIS_NO_MATCH"  # the iris codes differ beyond the configured threshold
    IRIS_QUALITY = "IRIS_QUALITY"  # a capture to repeat: occluded, out of focus, too small
    IRIS_NOT_FOUND = "IRIS_NOT_FOUND"  # no pupil or iris boundary: a closed eye, not an eye
    IRIS_NOT_NIR = "IRIS_NOT_NIR"  # a colour image: iris codes need near-infrared grayscale
    IRIS_NOT_ENROLLED = "IRIS_NOT_ENROLLED"  # no such enrolment, or an empty gallery
    IRIS_GALLERY_DAMAGED = "IRIS_GALLERY_DAMAGED"  # the encrypted gallery does not open
    IRIS_REFERENCE_MISSING = "IRIS_REFERENCE_MISSING"  # no DG4 iris read after EAC: no reference


class ApplianceError(Exception):
    """An error with a stable reason code; the message must never contain personal data."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class LdsError(ApplianceError):
    """Malformed or unsupported chip data (always `LDS_MALFORMED` unless stated)."""

    def __init__(self, detail: str = "", reason: Reason = Reason.LDS_MALFORMED) -> None:
        super().__init__(reason, detail)
