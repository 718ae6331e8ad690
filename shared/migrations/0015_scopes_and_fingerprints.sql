-- A source's unit scope names units, not bare codes (shared/domain/unitref.py): a code reused by another unit
-- must not extend a scope to that unit. Every bare code stored so far becomes CODE@<first day of the latest
-- version that has the code> (the unit the code named last); an unknown code is left alone and allows nothing.
UPDATE sources s SET units = (
    SELECT array_agg(CASE WHEN u ~ '^[0-9]{2,6}$' AND latest IS NOT NULL
                          THEN u || '@' || to_char(latest, 'YYYY-MM-DD') ELSE u END ORDER BY ord)
    FROM unnest(s.units) WITH ORDINALITY AS e(u, ord)
    LEFT JOIN LATERAL (SELECT max(valid_from) AS latest FROM units WHERE code = e.u) l ON true
)
WHERE units IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(s.units) AS u WHERE u ~ '^[0-9]{2,6}$');

-- An alert's fingerprint hashes its stable identity only (alertname, indicator, unit, milestone), as
-- services/alerter/rules.py `fingerprint`: first 16 hex digits of SHA-256 of the sorted JSON object.
CREATE FUNCTION pg_temp.alert_fingerprint(alertname text, indicator text, unit text, milestone text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(encode(sha256(convert_to(
        '{"alertname": ' || to_json(alertname)::text || ', "indicator": ' || to_json(indicator)::text
        || ', "milestone": ' || to_json(milestone)::text || ', "unit": ' || to_json(unit)::text || '}',
        'UTF8')), 'hex'), 1, 16)
$$;

-- Two stored rows of one identity (labels that changed over time): keep the most recently updated one.
DELETE FROM alerts a USING alerts b
WHERE pg_temp.alert_fingerprint(a.alertname, a.indicator, a.unit, a.milestone)
    = pg_temp.alert_fingerprint(b.alertname, b.indicator, b.unit, b.milestone)
  AND (a.updated_at, a.fingerprint) < (b.updated_at, b.fingerprint);
UPDATE alerts SET fingerprint = pg_temp.alert_fingerprint(alertname, indicator, unit, milestone);
UPDATE alert_history SET fingerprint = pg_temp.alert_fingerprint(
    alertname, labels->>'indicator', labels->>'unit', labels->>'milestone')
WHERE labels ? 'indicator' AND labels ? 'unit' AND labels ? 'milestone';
