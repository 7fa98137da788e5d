-- A table made for a conversion's lookup of a click past the hot window
-- (storage/clickhouse/clicks.go). Reading the click from the raw table
-- costs ClickHouse a stream per column it returns (seventeen), each
-- opening its file and decompressing a block in every part: 3.2 to 4.4 ms
-- of its CPU a lookup on 18.16, against 0.8 for a `SELECT 1`. Here the
-- same fields are one string per click beside its key, so a lookup reads
-- three columns, in granules of 1,024 rows rather than 8,192: 1.5 to 2.2
-- ms. The record is the fields a conversion needs, each written as its
-- length in bytes, a colon and its bytes (a sub ID may hold any byte), in
-- the order storage/clickhouse/lookup_record.go reads and writes them;
-- fields added later go at the end, where an older record has none.
--
-- The sink writes each batch's rows here just before the batch's clicks
-- (InsertClicksAt), the record encoded as it goes: a materialized view
-- building the record in SQL cost ClickHouse about 2 µs a click, the
-- string functions of 18.16 being slow. Only clicks sent to an offer
-- (outcome '') are kept: a click turned away never converts.
-- ReplacingMergeTree on the raw table's key: a batch written twice (the
-- sink retrying, or a crash between the two inserts) is folded by merges,
-- and a lookup that meets both rows before then keeps one.
--
-- The clicks stored before this migration are copied in by its last
-- statement, the same record built by SQL; the sink inserts only after
-- migrations have run. Run again after an interruption, the copy stores
-- some rows twice, which merges fold as above.

CREATE TABLE IF NOT EXISTS {db}.click_lookup (
    ts       DateTime,
    click_id String,
    record   String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, click_id)
SETTINGS index_granularity = 1024;

INSERT INTO {db}.click_lookup
SELECT
    ts,
    click_id,
    concat(
        toString(length(offer_id)), ':', offer_id,
        toString(length(affiliate_id)), ':', affiliate_id,
        toString(length(advertiser_id)), ':', advertiser_id,
        toString(length(sub1)), ':', sub1,
        toString(length(sub2)), ':', sub2,
        toString(length(sub3)), ':', sub3,
        toString(length(sub4)), ':', sub4,
        toString(length(sub5)), ':', sub5,
        toString(length(aff_click_id)), ':', aff_click_id,
        toString(length(country)), ':', country,
        toString(length(device)), ':', device,
        toString(length(os)), ':', os,
        toString(length(smart_link_id)), ':', smart_link_id,
        toString(length(toString(payout_micros))), ':', toString(payout_micros),
        toString(length(toString(is_test))), ':', toString(is_test)) AS record
FROM {db}.clicks
WHERE outcome = '';
