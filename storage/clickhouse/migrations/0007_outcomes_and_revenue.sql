-- Business figures in the rollups, and clicks that were not sent to their
-- offer.
--
-- A click the tracker turned away (a visitor outside the offer's
-- targeting, a paused offer; later a reached cap or a blocked source) is
-- stored in clicks with its outcome, and counted in the rollups as that
-- outcome, never as a click: the console and the stats show how much
-- traffic went where. Money gains revenue, what the advertiser pays the
-- network, beside payout, what the network pays the affiliate; an offer
-- without its own revenue has its payout's, which is also what every row
-- written before this migration reads (the columns' DEFAULT). rejected
-- counts conversions rejected or reversed now, from this migration on.
--
-- 18.16 wants every column of a view's target from the view, so every
-- rollup view is made again with the new columns, as 0002 did. Nothing is
-- lost meanwhile: the sink inserts only after migrations have run.

ALTER TABLE {db}.clicks ADD COLUMN outcome String DEFAULT '';

ALTER TABLE {db}.clicks ADD COLUMN revenue_micros Int64 DEFAULT payout_micros;

ALTER TABLE {db}.conversions ADD COLUMN revenue_micros Int64 DEFAULT payout_micros;

-- stats_minute
ALTER TABLE {db}.stats_minute ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_minute ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_minute ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_minute_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_clicks TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute, affiliate_id, offer_id, advertiser_id, country, device, os, sub1, sub2, sub3, sub4, sub5,
    toUInt64(outcome = '' AND filtered = 0) AS clicks,
    toUInt64(outcome = '' AND is_unique = 1 AND filtered = 0) AS unique_clicks,
    toUInt64(outcome = '' AND is_bot = 1) AS bot_clicks,
    toUInt64(0) AS conversions,
    toInt64(0) AS approved,
    toInt64(0) AS rejected,
    if(outcome = '' AND filtered = 0, payout_micros, toInt64(0)) AS payout_micros,
    if(outcome = '' AND filtered = 0, revenue_micros, toInt64(0)) AS revenue_micros,
    toInt64(0) AS amount_micros,
    toUInt64(outcome = 'off_target') AS off_target,
    toUInt64(outcome = 'paused') AS paused,
    toUInt64(outcome = 'capped') AS capped,
    toUInt64(outcome = 'blocked') AS blocked
FROM {db}.clicks
WHERE is_test = 0;
DROP TABLE IF EXISTS {db}.stats_minute_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_conversions TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute, affiliate_id, offer_id, advertiser_id, country, device, os, sub1, sub2, sub3, sub4, sub5,
    toUInt64(0) AS clicks,
    toUInt64(0) AS unique_clicks,
    toUInt64(0) AS bot_clicks,
    toUInt64(1) AS conversions,
    toInt64(status = 'approved') AS approved,
    toInt64(status IN ('rejected', 'reversed')) AS rejected,
    if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros) AS payout_micros,
    if(status IN ('rejected', 'reversed'), toInt64(0), revenue_micros) AS revenue_micros,
    if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros) AS amount_micros,
    toUInt64(0) AS off_target,
    toUInt64(0) AS paused,
    toUInt64(0) AS capped,
    toUInt64(0) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0;
DROP TABLE IF EXISTS {db}.stats_minute_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_status_changes TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute, affiliate_id, offer_id, advertiser_id, country, device, os, sub1, sub2, sub3, sub4, sub5,
    toUInt64(0) AS clicks,
    toUInt64(0) AS unique_clicks,
    toUInt64(0) AS bot_clicks,
    toUInt64(0) AS conversions,
    toInt64(status = 'approved') - toInt64(prev_status = 'approved') AS approved,
    toInt64(status IN ('rejected', 'reversed')) - toInt64(prev_status IN ('rejected', 'reversed')) AS rejected,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros AS payout_micros,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * revenue_micros AS revenue_micros,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros AS amount_micros,
    toUInt64(0) AS off_target,
    toUInt64(0) AS paused,
    toUInt64(0) AS capped,
    toUInt64(0) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status;

-- stats_minute_totals
ALTER TABLE {db}.stats_minute_totals ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_minute_totals_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_clicks TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY minute;
DROP TABLE IF EXISTS {db}.stats_minute_totals_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_conversions TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY minute;
DROP TABLE IF EXISTS {db}.stats_minute_totals_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_totals_status_changes TO {db}.stats_minute_totals AS
SELECT
    toStartOfMinute(ts) AS minute,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY minute;

-- stats_hour_entities
ALTER TABLE {db}.stats_hour_entities ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_hour_entities_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_clicks TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id;
DROP TABLE IF EXISTS {db}.stats_hour_entities_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_conversions TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id;
DROP TABLE IF EXISTS {db}.stats_hour_entities_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_entities_status_changes TO {db}.stats_hour_entities AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

-- stats_hour_traffic
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_hour_traffic_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_clicks TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_traffic_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_conversions TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_traffic_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_traffic_status_changes TO {db}.stats_hour_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, country, device, os;

-- stats_hour_affiliate_traffic
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_hour_affiliate_traffic_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_clicks TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, affiliate_id, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_affiliate_traffic_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_conversions TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, affiliate_id, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_affiliate_traffic_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_affiliate_traffic_status_changes TO {db}.stats_hour_affiliate_traffic AS
SELECT
    toStartOfHour(ts) AS hour, affiliate_id, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, affiliate_id, country, device, os;

-- stats_hour_campaigns
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_hour_campaigns_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_clicks TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;
DROP TABLE IF EXISTS {db}.stats_hour_campaigns_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_conversions TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;
DROP TABLE IF EXISTS {db}.stats_hour_campaigns_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaigns_status_changes TO {db}.stats_hour_campaigns AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

-- stats_hour_campaign_traffic
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN rejected Int64 DEFAULT 0 AFTER approved;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN revenue_micros Int64 DEFAULT payout_micros AFTER payout_micros;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN off_target UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN paused UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN capped UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN blocked UInt64 DEFAULT 0;
DROP TABLE IF EXISTS {db}.stats_hour_campaign_traffic_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_clicks TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
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
    sum(toUInt64(outcome = 'blocked')) AS blocked
FROM {db}.clicks
WHERE is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_campaign_traffic_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_conversions TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version = 1 AND is_test = 0
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;
DROP TABLE IF EXISTS {db}.stats_hour_campaign_traffic_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_campaign_traffic_status_changes TO {db}.stats_hour_campaign_traffic AS
SELECT
    toStartOfHour(ts) AS hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os,
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
    sum(toUInt64(0)) AS blocked
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;
