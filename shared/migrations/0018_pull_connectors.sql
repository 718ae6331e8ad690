-- Pull collectors (services/pull, docs/connectors.md): one row per connector with its lease, the scheduled tick
-- last completed and the kind's cursor; every file a files connector took; every run.

-- The lease fences a run: only the holder may advance the cursor, and a tick claimed by one process is not run by
-- another. `done_tick` is the scheduled time of the last completed tick (a forced `dx connectors run` leaves it).
CREATE TABLE pull_connectors (
    connector         text PRIMARY KEY,
    holder            text,
    lease_expires_at  timestamptz,
    done_tick         timestamptz,
    cursor            jsonb NOT NULL DEFAULT '{}'::jsonb,   -- kind-specific: ETag / Last-Modified, SQL cursor
    failures          integer NOT NULL DEFAULT 0,            -- consecutive failed runs (backoff)
    retry_at          timestamptz,                           -- after a failure: not before this
    last_success_at   timestamptz,
    last_error        text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Files connectors: each file's SHA-256, so the same content is processed once whatever its name.
CREATE TABLE pull_files (
    connector     text NOT NULL,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file_name     text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('done', 'failed')),
    rows          integer NOT NULL,
    accepted      integer NOT NULL,
    rejected      integer NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, sha256)
);

-- One row per run attempt: who ran which tick and what came of it (`dx connectors list`, tests, audits).
CREATE TABLE pull_runs (
    id           bigserial PRIMARY KEY,
    connector    text NOT NULL,
    tick         timestamptz,                                -- NULL: a forced run
    holder       text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'failed', 'lost')),
    fetched      integer NOT NULL DEFAULT 0,
    accepted     integer NOT NULL DEFAULT 0,
    rejected     integer NOT NULL DEFAULT 0,
    error        text
);
CREATE INDEX pull_runs_connector ON pull_runs (connector, id);
