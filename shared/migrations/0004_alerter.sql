-- Alerter: target statuses, alert state and history, and the leader lease.

-- The status of every (indicator, unit, milestone) at the last evaluation; read by `dx status` and Grafana.
-- value/expected/target/projected are in the indicator's unit (percent 0–100, counts, ranks).
CREATE TABLE target_status (
    indicator         text NOT NULL,
    unit              text NOT NULL,
    milestone         text NOT NULL,
    value             numeric,
    expected          numeric,
    target            numeric,
    projected         numeric,
    status            text NOT NULL CHECK (status IN
                        ('achieved', 'on_track', 'behind', 'at_risk', 'missed', 'no_data', 'not_applicable')),
    reason            text NOT NULL,
    stale             boolean NOT NULL DEFAULT false,   -- no observation for longer than the reporting interval
    last_observed_at  timestamptz,
    evaluated_at      timestamptz NOT NULL,             -- the evaluation clock (injectable)
    written_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (indicator, unit, milestone)
);

-- Current state per alert fingerprint (a hash of the full label set). Written by the lease holder only.
CREATE TABLE alerts (
    fingerprint    text PRIMARY KEY,
    alertname      text NOT NULL,
    indicator      text NOT NULL,
    unit           text NOT NULL,
    milestone      text NOT NULL,
    labels         jsonb NOT NULL,
    annotations    jsonb NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved', 'inactive')),
    active_since   timestamptz NOT NULL,   -- condition true since (start of the grace period)
    starts_at      timestamptz,            -- first firing: the startsAt sent to Alertmanager, never moved
    ends_at        timestamptz,            -- the last endsAt sent (lease while firing, resolution time after)
    last_sent_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_target ON alerts (indicator, unit);

-- Every transition; rows with published_at NULL are still to be published to dx.alerts.v1 (outbox).
CREATE TABLE alert_history (
    id            bigserial PRIMARY KEY,
    fingerprint   text NOT NULL,
    alertname     text NOT NULL,
    labels        jsonb NOT NULL,
    annotations   jsonb NOT NULL,
    from_state    text NOT NULL,
    to_state      text NOT NULL,
    starts_at     timestamptz,
    ends_at       timestamptz,
    at            timestamptz NOT NULL,
    published_at  timestamptz
);
CREATE INDEX alert_history_fingerprint ON alert_history (fingerprint, id);
CREATE INDEX alert_history_unpublished ON alert_history (id) WHERE published_at IS NULL;

-- One row: which alerter process may change alert state and talk to Alertmanager, until when (database clock).
CREATE TABLE alerter_lease (
    name         text PRIMARY KEY,
    holder       text NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
REVOKE ALL ON alerter_lease FROM dx_grafana;
