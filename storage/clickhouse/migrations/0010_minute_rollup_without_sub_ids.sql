-- A per-minute rollup that does not grow with clicks.
--
-- stats_minute kept every dimension per minute, sub1..sub5 included: on
-- traffic whose sub-IDs carry a value per click (a click ID, a timestamp)
-- that is a row per click, sorted on insert and merged again and again,
-- the largest share of ClickHouse's work per click, for queries the
-- hourly rollups answer in all but a few cases. stats_minute_traffic
-- keeps the minute with the entities, countries, devices and operating
-- systems only (its rows follow the traffic's mix, not its volume), and
-- each view sums the inserted block by its keys as 0006's do. What no
-- rollup has (sub2..sub5 with country, device or OS, or sub-IDs in a time
-- zone whose offset is not whole hours, or within one hour) is read from
-- the raw tables with the views' own expressions (stats.go): what
-- stats_minute held, row for row.
--
-- stats_minute goes, with its views. The backfill reads the raw tables,
-- not stats_minute, so that a run interrupted after the drop can run
-- again; it is guarded by the table being empty, and runs before this
-- process's sink inserts anything.

CREATE TABLE IF NOT EXISTS {db}.stats_minute_traffic (
    minute        DateTime,
    advertiser_id String,
    offer_id      String,
    affiliate_id  String,
    country       String,
    device        String,
    os            String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    rejected      Int64,
    payout_micros Int64,
    revenue_micros Int64,
    amount_micros Int64,
    off_target    UInt64,
    paused        UInt64,
    capped        UInt64,
    blocked       UInt64,
    denied        UInt64,
    unrouted      UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, advertiser_id, offer_id, affiliate_id, country, device, os);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_traffic_clicks TO {db}.stats_minute_traffic AS
SELECT
    toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(outcome = '' AND filtered = 0)) AS clicks,
    sum(toUInt64(outcome = '' AND is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(outcome = '' AND is_bot = 1)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(toInt64(0)) AS rejected,
    sum(if(outcome = '' AND filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(if(outcome = '' AND filtered = 0, revenue_micros, toInt64(0))) AS revenue_micros,
    sum(toInt64(0)) AS amount_micros,
    sum(toUInt64(outcome = 'off_target')) AS off_target,
    sum(toUInt64(outcome = 'paused')) AS paused,
    sum(toUInt64(outcome = 'capped')) AS capped,
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
FROM {db}.clicks
WHERE is_test = 0
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_traffic_conversions TO {db}.stats_minute_traffic AS
SELECT
    toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(toInt64(status IN ('rejected', 'reversed'))) AS rejected,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), revenue_micros)) AS revenue_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros,
    sum(toUInt64(0)) AS off_target,
    sum(toUInt64(0)) AS paused,
    sum(toUInt64(0)) AS capped,
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_traffic_status_changes TO {db}.stats_minute_traffic AS
SELECT
    toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum(toInt64(status IN ('rejected', 'reversed')) - toInt64(prev_status IN ('rejected', 'reversed'))) AS rejected,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * revenue_micros) AS revenue_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros,
    sum(toUInt64(0)) AS off_target,
    sum(toUInt64(0)) AS paused,
    sum(toUInt64(0)) AS capped,
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os;

INSERT INTO {db}.stats_minute_traffic (minute, advertiser_id, offer_id, affiliate_id, country, device, os, clicks, unique_clicks, bot_clicks, conversions, approved, rejected,
    payout_micros, revenue_micros, amount_micros, off_target, paused, capped, blocked, denied, unrouted)
SELECT minute, advertiser_id, offer_id, affiliate_id, country, device, os, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(rejected),
    sum(payout_micros), sum(revenue_micros), sum(amount_micros), sum(off_target), sum(paused), sum(capped), sum(blocked), sum(denied), sum(unrouted)
FROM (
SELECT toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(outcome = '' AND filtered = 0)) AS clicks,
    sum(toUInt64(outcome = '' AND is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(outcome = '' AND is_bot = 1)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(toInt64(0)) AS rejected,
    sum(if(outcome = '' AND filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(if(outcome = '' AND filtered = 0, revenue_micros, toInt64(0))) AS revenue_micros,
    sum(toInt64(0)) AS amount_micros,
    sum(toUInt64(outcome = 'off_target')) AS off_target,
    sum(toUInt64(outcome = 'paused')) AS paused,
    sum(toUInt64(outcome = 'capped')) AS capped,
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
FROM {db}.clicks
WHERE is_test = 0 AND (SELECT count() FROM {db}.stats_minute_traffic) = 0
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os
UNION ALL
SELECT toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(toInt64(status IN ('rejected', 'reversed'))) AS rejected,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), revenue_micros)) AS revenue_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros,
    sum(toUInt64(0)) AS off_target,
    sum(toUInt64(0)) AS paused,
    sum(toUInt64(0)) AS capped,
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version = 1 AND is_test = 0 AND (SELECT count() FROM {db}.stats_minute_traffic) = 0
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os
UNION ALL
SELECT toStartOfMinute(ts) AS minute, advertiser_id, offer_id, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum(toInt64(status IN ('rejected', 'reversed')) - toInt64(prev_status IN ('rejected', 'reversed'))) AS rejected,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * revenue_micros) AS revenue_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros,
    sum(toUInt64(0)) AS off_target,
    sum(toUInt64(0)) AS paused,
    sum(toUInt64(0)) AS capped,
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status AND (SELECT count() FROM {db}.stats_minute_traffic) = 0
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os
)
GROUP BY minute, advertiser_id, offer_id, affiliate_id, country, device, os;

DROP TABLE IF EXISTS {db}.stats_minute_clicks;
DROP TABLE IF EXISTS {db}.stats_minute_conversions;
DROP TABLE IF EXISTS {db}.stats_minute_status_changes;
DROP TABLE IF EXISTS {db}.stats_minute;
