-- Rollups for the console's stats explorer. stats_minute keeps every
-- dimension per minute, sub1..sub5 included, so on a busy network it has
-- about a row per click (10 million a day) and a day's GROUP BY reads them
-- all. These six keep what the explorer's breakdowns need in far fewer
-- rows: the per-minute totals (the live chart; dates and hours in any time
-- zone), and per hour: offers, affiliates and advertisers; countries,
-- devices and operating systems per offer; the same per affiliate; the
-- affiliates' sub-IDs with their offers (a campaign tree: an affiliate's
-- subs repeat over its clicks); and sub1 with countries, devices and
-- operating systems. Stats picks the smallest one that has a query's
-- dimensions and filters (stats.go); only a breakdown crossing sub2..sub5
-- with country, device or OS still reads stats_minute.
--
-- 18.16 does not cascade materialized views (a view's target feeds no
-- views of its own), so each rollup has its own three views on the raw
-- tables, the same sums as stats_minute's (0002). Each view sums the
-- inserted block by its keys: a sink batch of 50,000 clicks becomes a row
-- or two in stats_minute_totals, not 50,000 rows left for merges to fold.

CREATE TABLE IF NOT EXISTS {db}.stats_minute_totals (
    minute        DateTime,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_clicks TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_conversions TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_status_changes TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY minute;

-- What stats_minute holds already. Migrations run before this process's
-- sink inserts anything; the guard keeps a re-run (an interrupted
-- migration) from adding it twice.
INSERT INTO {db}.stats_minute_totals (minute, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT minute AS minute, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_minute_totals) = 0
GROUP BY minute;

CREATE TABLE IF NOT EXISTS {db}.stats_hour_entities (
    hour          DateTime,
    advertiser_id String,
    offer_id      String,
    affiliate_id  String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, advertiser_id, offer_id, affiliate_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_clicks TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_conversions TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_status_changes TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

-- What stats_minute holds already. Migrations run before this process's
-- sink inserts anything; the guard keeps a re-run (an interrupted
-- migration) from adding it twice.
INSERT INTO {db}.stats_hour_entities (hour, advertiser_id, offer_id, affiliate_id, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT toStartOfHour(minute) AS hour, advertiser_id, offer_id, affiliate_id, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_hour_entities) = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

-- Countries, devices and operating systems per offer (and its
-- advertiser): a network-wide offer-by-country table reads this, not a row
-- per click. The backfill from stats_minute below each table is guarded by
-- the table being empty, so an interrupted migration run again does not
-- add it twice.
CREATE TABLE IF NOT EXISTS {db}.stats_hour_traffic (
    hour          DateTime,
    advertiser_id String,
    offer_id      String,
    country       String,
    device        String,
    os            String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, advertiser_id, offer_id, country, device, os);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_clicks TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_conversions TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_status_changes TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, country, device, os;

INSERT INTO {db}.stats_hour_traffic (hour, advertiser_id, offer_id, country, device, os, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT toStartOfHour(minute) AS hour, advertiser_id, offer_id, country, device, os, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_hour_traffic) = 0
GROUP BY hour, advertiser_id, offer_id, country, device, os;

-- The same per affiliate: an affiliate's countries, devices and systems,
-- and the network's affiliates by country. Ordered by affiliate first so
-- one affiliate's reads skip the others' rows.
CREATE TABLE IF NOT EXISTS {db}.stats_hour_affiliate_traffic (
    hour          DateTime,
    affiliate_id  String,
    country       String,
    device        String,
    os            String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (affiliate_id, hour, country, device, os);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_clicks TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, affiliate_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_conversions TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, affiliate_id, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_status_changes TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, affiliate_id, country, device, os;

INSERT INTO {db}.stats_hour_affiliate_traffic (hour, affiliate_id, country, device, os, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT toStartOfHour(minute) AS hour, affiliate_id, country, device, os, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_hour_affiliate_traffic) = 0
GROUP BY hour, affiliate_id, country, device, os;

-- Sub-IDs with the offers and affiliates they run on: any breakdown by
-- sub-IDs (one or several, with an entity, under any entity filter). Its
-- size follows how many distinct sub combinations an affiliate sends in
-- an hour: campaigns, ad sets, creatives repeat over thousands of clicks;
-- a sub carrying a value unique per click (a click ID passed as a sub)
-- would make it as large as stats_minute.
CREATE TABLE IF NOT EXISTS {db}.stats_hour_campaigns (
    hour          DateTime,
    advertiser_id String,
    offer_id      String,
    affiliate_id  String,
    sub1          String,
    sub2          String,
    sub3          String,
    sub4          String,
    sub5          String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (affiliate_id, hour, advertiser_id, offer_id, sub1, sub2, sub3, sub4, sub5);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_clicks TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_conversions TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_status_changes TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

INSERT INTO {db}.stats_hour_campaigns (hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT toStartOfHour(minute) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_hour_campaigns) = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

-- The first sub-ID (an affiliate's campaign, in the usual tree) with
-- countries, devices and operating systems, and with every entity: which
-- countries a campaign converts in, and affiliate, offer and country
-- together. Several times larger than the tables above (a campaign's
-- traffic spreads over many countries and devices), so Stats reads it only
-- for what they cannot answer. The other sub-IDs with country, device or
-- OS are near a row per click at any grain and read stats_minute.
CREATE TABLE IF NOT EXISTS {db}.stats_hour_campaign_traffic (
    hour          DateTime,
    advertiser_id String,
    offer_id      String,
    affiliate_id  String,
    sub1          String,
    country       String,
    device        String,
    os            String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    approved      Int64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (affiliate_id, hour, advertiser_id, offer_id, sub1, country, device, os);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_clicks TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
    sum(toUInt64(filtered = 0)) AS clicks,
    sum(toUInt64(is_unique = 1 AND filtered = 0)) AS unique_clicks,
    sum(toUInt64(is_bot)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(0)) AS approved,
    sum(if(filtered = 0, payout_micros, toInt64(0))) AS payout_micros,
    sum(toInt64(0)) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_conversions TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(1)) AS conversions,
    sum(toInt64(status = 'approved')) AS approved,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros)) AS payout_micros,
    sum(if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros)) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_status_changes TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
    sum(toUInt64(0)) AS clicks,
    sum(toUInt64(0)) AS unique_clicks,
    sum(toUInt64(0)) AS bot_clicks,
    sum(toUInt64(0)) AS conversions,
    sum(toInt64(status = 'approved') - toInt64(prev_status = 'approved')) AS approved,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros) AS payout_micros,
    sum((toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;

INSERT INTO {db}.stats_hour_campaign_traffic (hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os, clicks, unique_clicks, bot_clicks, conversions, approved, payout_micros, amount_micros)
SELECT toStartOfHour(minute) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os, sum(clicks), sum(unique_clicks), sum(bot_clicks), sum(conversions), sum(approved), sum(payout_micros), sum(amount_micros)
FROM {db}.stats_minute
WHERE (SELECT count() FROM {db}.stats_hour_campaign_traffic) = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;
