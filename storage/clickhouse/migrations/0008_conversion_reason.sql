-- Why a conversion was taken as rejected at intake (cap_reached): kept in
-- the conversion log for advertisers to reconcile against, and left out of
-- what caps count when their counts are rebuilt from here.

ALTER TABLE {db}.conversions ADD COLUMN reason String DEFAULT '';
