-- The durable copy of the network's configuration: every write of an
-- advertiser, affiliate, offer, postback, endpoint, API key (its hash) and
-- generated secret, so that Redis, which serves them, can be rebuilt after
-- it loses its data. The row with the highest version of a (kind, id) is in
-- force; readers pick it with argMax, so they do not wait for merges.

CREATE TABLE IF NOT EXISTS {db}.entity_journal (
    kind    String,
    id      String,
    version UInt64, -- Unix nanoseconds of the write
    deleted UInt8,
    body    String, -- entity JSON, the key's principal JSON, or the secret
    ts      DateTime
) ENGINE = ReplacingMergeTree(version)
ORDER BY (kind, id);
