-- Event ids are unique per source (docs/events-and-topics.md): a source can neither shadow another source's event
-- by posting its id first nor address it in a correction. Corrections and retractions are events of their own,
-- kept in applied_events with the event they amend; the amended event keeps its row and is marked replaced.
ALTER TABLE applied_events DROP CONSTRAINT applied_events_pkey;
ALTER TABLE applied_events ADD PRIMARY KEY (source, event_id);

ALTER TABLE applied_events
    ADD COLUMN period      text,         -- the reference period of indicators that have one (as in period_values)
    ADD COLUMN corrects    uuid,         -- this event is a correction of (source, corrects)
    ADD COLUMN retracts    uuid,         -- this event is a retraction of (source, retracts): no measures
    ADD COLUMN replaced_by uuid,         -- the correction or retraction (same source) that took this event's place
    ADD COLUMN replaced_at timestamptz;

-- A retraction or a replaced event counts nowhere; the snapshot and period values of a (indicator, unit) are
-- recomputed from the events still in force when an amendment removes the one they held.
CREATE INDEX applied_events_series ON applied_events (indicator, unit, observed_at);
-- `dx events show` and the refusal of a foreign original look an id up whatever its source; the dashboard lists
-- the recent amendments.
CREATE INDEX applied_events_id ON applied_events (event_id);
CREATE INDEX applied_events_amendments ON applied_events (received_at DESC)
    WHERE corrects IS NOT NULL OR retracts IS NOT NULL;

-- Known periods of the events applied before: the period period_values holds for its event, else the year.
UPDATE applied_events a SET period = p.period
FROM period_values p WHERE p.event_id = a.event_id AND p.indicator = a.indicator AND p.unit = a.unit;
UPDATE applied_events SET period = extract(year FROM observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int::text
WHERE period IS NULL AND indicator IN ('econ.digital_economy_share', 'econ.labour_productivity_growth',
                                       'overall.dti_rank', 'overall.dgov_rank');
