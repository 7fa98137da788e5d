-- Raw tables are ReplacingMergeTree keyed by the record's ID: Kafka
-- consumers are at-least-once, and a redelivered record collapses into the
-- original on merge.

CREATE TABLE IF NOT EXISTS {db}.clicks (
    click_id      String,
    ts            DateTime,
    offer_id      String,
    affiliate_id  String,
    advertiser_id String,
    sub1          String,
    sub2          String,
    sub3          String,
    sub4          String,
    sub5          String,
    aff_click_id  String,
    ip            String,
    user_agent    String,
    referrer      String,
    country       String,
    device        String,
    os            String,
    browser       String,
    is_unique     UInt8,
    is_bot        UInt8,
    filtered      UInt8, -- a bot on an offer with filter_bots: kept, not counted
    payout_micros Int64, -- what the click pays (CPC offers)
    is_test       UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, click_id);

-- Every status change is a new version of the conversion; the highest wins.
CREATE TABLE IF NOT EXISTS {db}.conversions (
    conversion_id String,
    version       UInt32,
    ts            DateTime,
    updated_ts    DateTime,
    status        String,
    click_id      String,
    click_ts      DateTime,
    offer_id      String,
    affiliate_id  String,
    advertiser_id String,
    sub1          String,
    sub2          String,
    sub3          String,
    sub4          String,
    sub5          String,
    aff_click_id  String,
    country       String,
    device        String,
    os            String,
    txid          String,
    customer_id   String,
    goal          String,
    currency      String,
    amount_micros Int64,
    payout_micros Int64,
    payout_type   String,
    is_test       UInt8
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, conversion_id);

CREATE TABLE IF NOT EXISTS {db}.events (
    event_id      String,
    ts            DateTime,
    event_type    String,
    click_id      String,
    offer_id      String,
    affiliate_id  String,
    advertiser_id String,
    url           String,
    referrer      String,
    is_test       UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, event_id);

-- One row per outbound postback request. The attempts of one (conversion,
-- postback, event) make one row of the seed 004 report.
CREATE TABLE IF NOT EXISTS {db}.postback_attempts (
    conversion_id String,
    postback_id   String,
    event         String,
    attempt       UInt32,
    ts            DateTime,
    ts_ms         UInt64,
    click_id      String,
    offer_id      String,
    affiliate_id  String,
    advertiser_id String,
    level         String,
    url           String,
    success       UInt8,
    status_code   UInt16,
    debug         String,
    final         UInt8,
    latency_us    UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (conversion_id, postback_id, event, attempt);

-- Per-minute rollup behind every stats API. Materialized views add a row per
-- inserted click or conversion; SummingMergeTree folds rows with the same key.
CREATE TABLE IF NOT EXISTS {db}.stats_minute (
    minute        DateTime,
    affiliate_id  String,
    offer_id      String,
    advertiser_id String,
    country       String,
    device        String,
    os            String,
    sub1          String,
    sub2          String,
    sub3          String,
    sub4          String,
    sub5          String,
    clicks        UInt64,
    unique_clicks UInt64,
    bot_clicks    UInt64,
    conversions   UInt64,
    payout_micros Int64,
    amount_micros Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (affiliate_id, minute, offer_id, advertiser_id, country, device, os, sub1, sub2, sub3, sub4, sub5);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_clicks TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute,
    affiliate_id, offer_id, advertiser_id, country, device, os,
    sub1, sub2, sub3, sub4, sub5,
    toUInt64(filtered = 0) AS clicks,
    toUInt64(is_unique = 1 AND filtered = 0) AS unique_clicks,
    toUInt64(is_bot) AS bot_clicks,
    toUInt64(0) AS conversions,
    if(filtered = 0, payout_micros, toInt64(0)) AS payout_micros,
    toInt64(0) AS amount_micros
FROM {db}.clicks
WHERE is_test = 0;

-- Only a conversion's first version counts; status changes are versions 2+.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.stats_minute_conversions TO {db}.stats_minute AS
SELECT
    toStartOfMinute(ts) AS minute,
    affiliate_id, offer_id, advertiser_id, country, device, os,
    sub1, sub2, sub3, sub4, sub5,
    toUInt64(0) AS clicks,
    toUInt64(0) AS unique_clicks,
    toUInt64(0) AS bot_clicks,
    toUInt64(1) AS conversions,
    payout_micros,
    amount_micros
FROM {db}.conversions
WHERE version = 1 AND is_test = 0;
