-- Core reference tables (units, indicators, targets) and the privileges of the three roles.
-- Applied by `dx db migrate` as the owner role; the services' role gets DML only, Grafana's role SELECT only.

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dx_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO dx_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO dx_grafana;

-- Every version of every administrative unit; a code is only meaningful with a date.
CREATE TABLE units (
    code          text NOT NULL,
    valid_from    date NOT NULL,
    valid_to      date,                       -- exclusive; NULL = in force
    level         text NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    kind          text NOT NULL,
    name          text NOT NULL,
    full_name     text NOT NULL,
    full_name_en  text NOT NULL,
    parent_code   text,
    PRIMARY KEY (code, valid_from)
);

-- The catalog, mirrored from shared/data/catalog.toml for Grafana's labels and joins.
CREATE TABLE indicators (
    code          text PRIMARY KEY,
    pillar        text NOT NULL,
    pillar_vi     text NOT NULL,
    label_vi      text NOT NULL,
    label_en      text NOT NULL,
    measure       text NOT NULL,
    semantics     text NOT NULL,
    reported_at   text NOT NULL,
    direction     text NOT NULL,
    display_unit  text NOT NULL,
    tolerance     double precision NOT NULL
);

CREATE TABLE targets (
    indicator     text NOT NULL REFERENCES indicators (code) ON DELETE CASCADE,
    milestone     text NOT NULL,
    value         double precision NOT NULL,
    kind          text NOT NULL,
    period_start  integer,
    units_level   text,
    PRIMARY KEY (indicator, milestone)
);
