-- Status `pending` (Chờ số liệu chính thức): a passed milestone whose official figure is not due yet
-- (docs/judgement.md).
ALTER TABLE target_status DROP CONSTRAINT target_status_status_check;
ALTER TABLE target_status ADD CONSTRAINT target_status_status_check CHECK (status IN
    ('achieved', 'on_track', 'behind', 'at_risk', 'missed', 'no_data', 'pending', 'not_applicable'));
