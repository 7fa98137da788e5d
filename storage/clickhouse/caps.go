package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// CapUsage is what one affiliate took on one offer since a time, as caps
// count it: clicks sent to the offer (bots it filters left out), and the
// conversions recorded as taken (not those past a cap), with their payout
// and revenue at intake, whatever their status since.
type CapUsage struct {
	OfferID, AffiliateID string
	Clicks, Conversions  uint64
	PayoutMicros         int64
	RevenueMicros        int64
}

// CapUsage reads usage since from (the zero time: ever) on offerIDs, by
// offer and affiliate: what the cap counters are rebuilt from when Redis
// lost them.
func (c *Component) CapUsage(ctx context.Context, from time.Time, offerIDs []string) ([]CapUsage, error) {
	if len(offerIDs) == 0 {
		return nil, nil
	}
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	// Both tables are folded (FINAL) so a redelivered row counts once, and
	// each's latest version of a conversion carries its intake's money.
	sql := `SELECT offer_id, affiliate_id, sum(clicks), sum(conversions), sum(payout), sum(revenue) FROM (
    SELECT offer_id, affiliate_id, count() AS clicks, toUInt64(0) AS conversions, toInt64(0) AS payout, toInt64(0) AS revenue
    FROM ` + c.table("clicks") + ` FINAL
    WHERE ts >= ? AND has(?, offer_id) AND outcome = '' AND is_test = 0 AND filtered = 0
    GROUP BY offer_id, affiliate_id
    UNION ALL
    SELECT offer_id, affiliate_id, toUInt64(0), count(), sum(payout_micros), sum(revenue_micros)
    FROM ` + c.table("conversions") + ` FINAL
    WHERE ts >= ? AND has(?, offer_id) AND reason != '` + model.ReasonCapReached + `' AND is_test = 0
    GROUP BY offer_id, affiliate_id
) GROUP BY offer_id, affiliate_id`
	since := from.UTC().Truncate(time.Second)
	if since.Before(time.Unix(0, 0)) {
		since = time.Unix(0, 0).UTC() // a total: since ever
	}
	rows, err := c.conn.Query(ctx, sql, since, offerIDs, since, offerIDs)
	if err != nil {
		return nil, fmt.Errorf("reading cap usage: %w", err)
	}
	defer rows.Close()
	var out []CapUsage
	for rows.Next() {
		var u CapUsage
		if err := rows.Scan(&u.OfferID, &u.AffiliateID, &u.Clicks, &u.Conversions, &u.PayoutMicros, &u.RevenueMicros); err != nil {
			return nil, fmt.Errorf("reading cap usage: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
