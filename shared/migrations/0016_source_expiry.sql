-- Collector: a source may expire. The tools (`dx import`, `dx simulate` without --token) create a source scoped to
-- what they send, with a lease they renew while they run and revoke when they end; a tool that is killed leaves a
-- source that stops working when its lease runs out. NULL = never expires (`dx sources add`).
ALTER TABLE sources ADD COLUMN expires_at timestamptz;
