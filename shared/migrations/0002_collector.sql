-- Collector: the source systems allowed to send events and their tokens (docs/http-api.md).
-- A token is dxs_<token_id>_<secret>; only SHA-256(secret) is stored. NULL indicators/units = no restriction;
-- a unit covers everything under it at the event's date. Revoked rows are kept (audit) and may be re-issued.
CREATE TABLE sources (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    token_id    text NOT NULL UNIQUE,
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    indicators  text[],
    units       text[],
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Credentials are nobody's business but the collector's.
REVOKE ALL ON sources FROM dx_grafana;
