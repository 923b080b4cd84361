-- Central sync service, schema version 1 (see sync/README.md, "Schema").

CREATE TABLE devices (
    device_id        text PRIMARY KEY,
    auth_key         bytea NOT NULL,             -- Ed25519, signs the device's requests
    history_key      bytea NOT NULL,             -- Ed25519, signs its history checkpoints
    origin           text NOT NULL,              -- the checkpoints' origin line
    enrolled_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    last_seen        timestamptz,
    location         text,                       -- from the newest stored event
    -- the witness: the last checkpoint verified, and the events stored (a contiguous prefix)
    next_index       bigint NOT NULL DEFAULT 0,
    frontier         bytea[] NOT NULL DEFAULT '{}',  -- right edge of the tree of next_index leaves
    checkpoint_size  bigint NOT NULL DEFAULT 0,
    checkpoint_root  bytea NOT NULL,
    checkpoint_note  text,
    witness          text NOT NULL DEFAULT 'ok' CHECK (witness IN ('ok', 'fork')),
    backlog          bigint,                     -- as the device last reported it
    artefacts        jsonb NOT NULL DEFAULT '{}' -- artefact versions the device reports applied
);

CREATE TABLE enrolment_tokens (
    token_hash  bytea PRIMARY KEY,               -- SHA-256 of the token; the token is never stored
    device_id   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

-- every checkpoint the witness accepted (audit, and to judge an older one presented again)
CREATE TABLE checkpoints (
    device_id    text NOT NULL REFERENCES devices,
    size         bigint NOT NULL,
    root         bytea NOT NULL,
    note         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, size)
);

CREATE TABLE fork_alarms (
    id              bigserial PRIMARY KEY,
    device_id       text NOT NULL REFERENCES devices,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    detail          text NOT NULL,
    witnessed_size  bigint NOT NULL,
    witnessed_root  bytea NOT NULL,
    presented_note  text NOT NULL
);

-- nonces of signed requests inside the replay window (older ones are deleted)
CREATE TABLE request_nonces (
    device_id  text NOT NULL,
    nonce      text NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, nonce)
);

-- The checks, pseudonymised. Range-partitioned by event time, one partition per month,
-- created on demand (db.ensure_partitions); the device dimension is the primary key's
-- leading column in every partition (README: why an index rather than hash sub-partitions).
-- A partitioned table's unique keys must hold the partition key, hence `time` in it; the
-- ingest itself guarantees one row per (device_id, idx) under the device's row lock.
CREATE TABLE events (
    device_id    text NOT NULL,
    idx          bigint NOT NULL,
    time         timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    type         text NOT NULL,
    location     text NOT NULL,
    document     text,                            -- national pseudonym (64 hex) or NULL
    outcome      text NOT NULL,
    reasons      text[] NOT NULL,
    leaf_hash    bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, idx, time)
) PARTITION BY RANGE (time);

CREATE INDEX events_document ON events (document, time) WHERE document IS NOT NULL;

-- signed artefacts for the devices' downlink
CREATE TABLE artefacts (
    kind                text NOT NULL,
    version             bigint NOT NULL CHECK (version > 0),
    content             bytea NOT NULL,
    sha256              text NOT NULL,
    signature           text NOT NULL,           -- appliance.signed's detached signature line
    manifest            text NOT NULL,           -- JSON binding kind, version and sha256
    manifest_signature  text NOT NULL,
    published_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);
