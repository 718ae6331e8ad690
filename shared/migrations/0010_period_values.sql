-- Reference periods (docs/judgement.md): the latest observation of each (indicator, unit, period) of the
-- indicators that describe a period (yearly statistics such as the DTI rank). A 2025 figure published in 2026
-- with period "2025" lands here as 2025's and decides the 2025 milestone. A later observation (observed_at, then
-- event_id) of the same period wins, as for snapshot days.
CREATE TABLE period_values (
    indicator    text NOT NULL,
    unit         text NOT NULL,
    period       text NOT NULL,  -- "YYYY", "YYYY-Qn" or "YYYY-MM"
    observed_at  timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    value        numeric,
    numerator    bigint,
    denominator  bigint,
    PRIMARY KEY (indicator, unit, period)
);

INSERT INTO period_values (indicator, unit, period, observed_at, event_id, value, numerator, denominator)
SELECT DISTINCT ON (indicator, unit, extract(year FROM observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh'))
       indicator, unit, extract(year FROM observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int::text, observed_at,
       event_id, value, numerator, denominator
FROM applied_events
WHERE indicator IN ('econ.digital_economy_share', 'econ.labour_productivity_growth', 'overall.dti_rank',
                    'overall.dgov_rank')
ORDER BY indicator, unit, extract(year FROM observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh'), observed_at DESC,
         event_id DESC;

-- An emptied 365-day window is a day without a value: the daily row says so (NULL) instead of being absent, so
-- the history the alerter fits equals what current_values shows on every day.
ALTER TABLE daily_values ALTER COLUMN value DROP NOT NULL;
