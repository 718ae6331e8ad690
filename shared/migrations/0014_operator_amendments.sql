-- An operator may correct or retract any source's event through `dx events correct|retract`: the amendment is the
-- source's (it is judged in that source's chain) and names the operator who sent it on the source's behalf.
ALTER TABLE applied_events ADD COLUMN operator text;
