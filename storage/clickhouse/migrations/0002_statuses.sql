-- Conversion statuses in stats. A status change is a new version of the
-- conversion carrying the status it replaced; the rollup adds the
-- difference: approved counts +1 entering approved and -1 leaving it, and
-- payout and sale amount leave the totals when a conversion is rejected or
-- reversed (and come back if it is approved again). The change is counted
-- at the conversion's own minute, so a day's figures settle as its
-- conversions are reviewed.

ALTER TABLE {db}.conversions ADD COLUMN prev_status String AFTER status;

ALTER TABLE {db}.stats_minute ADD COLUMN approved Int64 AFTER conversions;

-- 18.16 wants every column of the target from a view, so both views of
-- 0001 are made again with the new column. Nothing is lost meanwhile: the
-- sink inserts only after migrations have run.
DROP TABLE IF EXISTS {db}.stats_minute_clicks;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_clicks TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute,
    affiliate_id, offer_id, advertiser_id, country, device, os,
    sub1, sub2, sub3, sub4, sub5,
    toUInt64(filtered = 0) AS clicks,
    toUInt64(is_unique = 1 AND filtered = 0) AS unique_clicks,
    toUInt64(is_bot) AS bot_clicks,
    toUInt64(0) AS conversions,
    toInt64(0) AS approved,
    if(filtered = 0, payout_micros, toInt64(0)) AS payout_micros,
    toInt64(0) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0;

DROP TABLE IF EXISTS {db}.stats_minute_conversions;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_conversions TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute,
    affiliate_id, offer_id, advertiser_id, country, device, os,
    sub1, sub2, sub3, sub4, sub5,
    toUInt64(0) AS clicks,
    toUInt64(0) AS unique_clicks,
    toUInt64(0) AS bot_clicks,
    toUInt64(1) AS conversions,
    toInt64(status = 'approved') AS approved,
    if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros) AS payout_micros,
    if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros) AS amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_status_changes TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute,
    affiliate_id, offer_id, advertiser_id, country, device, os,
    sub1, sub2, sub3, sub4, sub5,
    toUInt64(0) AS clicks,
    toUInt64(0) AS unique_clicks,
    toUInt64(0) AS bot_clicks,
    toUInt64(0) AS conversions,
    toInt64(status = 'approved') - toInt64(prev_status = 'approved') AS approved,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros AS payout_micros,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros AS amount_micros
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status;
