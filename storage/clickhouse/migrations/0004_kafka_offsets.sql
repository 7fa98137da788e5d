-- Each raw row records the Kafka partition and offset it came from, so the
-- sink can skip what a crash left inserted but not committed: the rollups
-- are fed by inserts, and a re-inserted batch would count twice there.
-- Rows written before this migration (or by hand) carry -1.

ALTER TABLE {db}.clicks ADD COLUMN kafka_partition Int32 DEFAULT -1;

ALTER TABLE {db}.clicks ADD COLUMN kafka_offset Int64 DEFAULT -1;

ALTER TABLE {db}.conversions ADD COLUMN kafka_partition Int32 DEFAULT -1;

ALTER TABLE {db}.conversions ADD COLUMN kafka_offset Int64 DEFAULT -1;

ALTER TABLE {db}.events ADD COLUMN kafka_partition Int32 DEFAULT -1;

ALTER TABLE {db}.events ADD COLUMN kafka_offset Int64 DEFAULT -1;

ALTER TABLE {db}.postback_attempts ADD COLUMN kafka_partition Int32 DEFAULT -1;

ALTER TABLE {db}.postback_attempts ADD COLUMN kafka_offset Int64 DEFAULT -1;
