-- Traffic rules and smart links.
--
-- Two more outcomes of clicks not sent to an offer: denied, a visitor the
-- network's traffic controls refuse (an IP or a user agent on its block
-- lists) before any offer's rule; and unrouted, a smart link's visitor no
-- offer of the link could take, sent to the link's fallback (its click has
-- no offer). Both are stored in clicks and counted in every rollup as
-- their outcome, never as clicks.
--
-- A click through a smart link records the link (smart_link_id), and its
-- conversions carry it too, so the stats break down by smart link: a new
-- hourly rollup, stats_hour_smart_links, holds the smart links' traffic
-- only (the other rollups keep theirs as before, under the offer chosen).
--
-- 18.16 wants every column of a view's target from the view, so every
-- rollup view is made again with the new columns, as 0007 did. Nothing is
-- lost meanwhile: the sink inserts only after migrations have run.

ALTER TABLE {db}.clicks ADD COLUMN smart_link_id String DEFAULT '';

ALTER TABLE {db}.conversions ADD COLUMN smart_link_id String DEFAULT '';

-- stats_minute
ALTER TABLE {db}.stats_minute ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    toUInt64(outcome = 'blocked') AS blocked,
    toUInt64(outcome = 'denied') AS denied,
    toUInt64(outcome = 'unrouted') AS unrouted
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
    toUInt64(0) AS blocked,
    toUInt64(0) AS denied,
    toUInt64(0) AS unrouted
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
    toUInt64(0) AS blocked,
    toUInt64(0) AS denied,
    toUInt64(0) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status;

-- stats_minute_totals
ALTER TABLE {db}.stats_minute_totals ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_minute_totals ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY minute;

-- stats_hour_entities
ALTER TABLE {db}.stats_hour_entities ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_entities ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id;

-- stats_hour_traffic
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_traffic ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, country, device, os;

-- stats_hour_affiliate_traffic
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_affiliate_traffic ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, affiliate_id, country, device, os;

-- stats_hour_campaigns
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaigns ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5;

-- stats_hour_campaign_traffic
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN denied UInt64 DEFAULT 0;
ALTER TABLE {db}.stats_hour_campaign_traffic ADD COLUMN unrouted UInt64 DEFAULT 0;
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
    sum(toUInt64(outcome = 'blocked')) AS blocked,
    sum(toUInt64(outcome = 'denied')) AS denied,
    sum(toUInt64(outcome = 'unrouted')) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
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
    sum(toUInt64(0)) AS blocked,
    sum(toUInt64(0)) AS denied,
    sum(toUInt64(0)) AS unrouted
FROM {db}.conversions
WHERE version > 1 AND is_test = 0 AND status != prev_status
GROUP BY hour, advertiser_id, offer_id, affiliate_id, sub1, country, device, os;

-- stats_hour_smart_links: the smart links' traffic, by link, offer chosen and affiliate.
CREATE TABLE IF NOT EXISTS {db}.stats_hour_smart_links (
    hour DateTime,
    smart_link_id String,
    advertiser_id String,
    offer_id String,
    affiliate_id String,
    clicks UInt64,
    unique_clicks UInt64,
    bot_clicks UInt64,
    conversions UInt64,
    approved Int64,
    rejected Int64,
    payout_micros Int64,
    revenue_micros Int64,
    amount_micros Int64,
    off_target UInt64,
    paused UInt64,
    capped UInt64,
    blocked UInt64,
    denied UInt64,
    unrouted UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, smart_link_id, advertiser_id, offer_id, affiliate_id);
DROP TABLE IF EXISTS {db}.stats_hour_smart_links_clicks;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_smart_links_clicks TO {db}.stats_hour_smart_links AS
SELECT
    toStartOfHour(ts) AS hour, smart_link_id, advertiser_id, offer_id, affiliate_id,
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
WHERE is_test = 0 AND smart_link_id != ''
GROUP BY hour, smart_link_id, advertiser_id, offer_id, affiliate_id;
DROP TABLE IF EXISTS {db}.stats_hour_smart_links_conversions;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_smart_links_conversions TO {db}.stats_hour_smart_links AS
SELECT
    toStartOfHour(ts) AS hour, smart_link_id, advertiser_id, offer_id, affiliate_id,
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
WHERE version = 1 AND is_test = 0 AND smart_link_id != ''
GROUP BY hour, smart_link_id, advertiser_id, offer_id, affiliate_id;
DROP TABLE IF EXISTS {db}.stats_hour_smart_links_status_changes;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_hour_smart_links_status_changes TO {db}.stats_hour_smart_links AS
SELECT
    toStartOfHour(ts) AS hour, smart_link_id, advertiser_id, offer_id, affiliate_id,
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
WHERE version > 1 AND is_test = 0 AND status != prev_status AND smart_link_id != ''
GROUP BY hour, smart_link_id, advertiser_id, offer_id, affiliate_id;
