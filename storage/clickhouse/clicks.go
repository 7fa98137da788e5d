package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// Click finds a click by its ID in the raw table, for a conversion whose
// click Redis does not hold (lost in an outage of Redis, or with the process
// that was retrying it). minted is the mint time the ID carries: the
// click's ts, to the second, so the lookup reads one granule of the primary
// key (ts, click_id) of one monthly partition.
func (c *Component) Click(ctx context.Context, id string, minted time.Time) (model.Click, bool, error) {
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	row := c.conn.QueryRow(ctx, `SELECT offer_id, affiliate_id, advertiser_id, sub1, sub2, sub3, sub4, sub5,
    aff_click_id, country, device, os, payout_micros, is_test
FROM `+c.table("clicks")+` WHERE ts = ? AND click_id = ? LIMIT 1`, minted.UTC().Truncate(time.Second), id)
	click := model.Click{ID: id, Time: minted.UnixMilli()}
	var test uint8
	err := row.Scan(&click.OfferID, &click.AffiliateID, &click.AdvertiserID,
		&click.Subs[0], &click.Subs[1], &click.Subs[2], &click.Subs[3], &click.Subs[4],
		&click.AffClickID, &click.Country, &click.Device, &click.OS, &click.PayoutMicros, &test)
	if isNoRows(err) {
		return model.Click{}, false, nil
	}
	if err != nil {
		return model.Click{}, false, fmt.Errorf("finding click %s: %w", id, err)
	}
	click.Test = test == 1
	return click, true, nil
}

// isNoRows reports a QueryRow that found nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
