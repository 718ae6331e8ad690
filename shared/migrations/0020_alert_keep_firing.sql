-- A firing alert whose condition cleared resolves only once it has stayed clear for DX_ALERTER_KEEP_FIRING_SECONDS
-- (services/alerter/rules.py `step`): cleared_since is when it was last seen clear, NULL while the condition holds.
ALTER TABLE alerts ADD COLUMN cleared_since timestamptz;
