package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// TestAClickRedisLostStillConverts: a click answered with a 302 reaches
// ClickHouse through Kafka; when Redis no longer holds it (an outage that
// outlasted the process retrying it, a Redis restarted without its file),
// a conversion on it is attributed from ClickHouse, exactly like a fresh one.
func TestAClickRedisLostStillConverts(t *testing.T) {
	ctx := context.Background()
	s := startStack(t)
	client, prefix := stackRedis(t, s)
	n := s.setUp("https://shop.example.com/?cid={click_id}&s={sub1}")
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=lost-in-redis", n.offerID, n.affiliateID))
	if status != 302 {
		t.Fatalf("click: %d", status)
	}
	cid := clickID(t, location, "cid")
	testkit.Poll(t, "the click in ClickHouse", 30*time.Second, func() (bool, string) {
		c, err := s.ch.Count(ctx, "SELECT count() FROM "+s.ch.Table("clicks")+" WHERE click_id = ?", cid)
		return err == nil && c == 1, fmt.Sprintf("%d rows (%v)", c, err)
	})
	if err := client.Del(ctx, redis.ClickKeyForTest(s.envValue("CLICKRELAY_REDIS_URL"), prefix, cid)).Err(); err != nil {
		t.Fatal(err)
	}

	var conv struct {
		Data struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey}
	if code := s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q,"txid":"LOST-1"}`, cid), &conv); code != 200 || !conv.Data.Tracked {
		t.Fatalf("conversion on a click Redis lost: %d %+v", code, conv)
	}
	if got := s.metric("clickrelay_conversion_clicks_from_clickhouse_total"); got != 1 {
		t.Fatalf("clickrelay_conversion_clicks_from_clickhouse_total = %v", got)
	}
	// Attributed as a fresh one would be: the affiliate sees it with its sub.
	var list struct {
		Data []struct {
			ConversionID string `json:"conversion_id"`
			ClickID      string `json:"click_id"`
			Sub1         string `json:"sub1"`
			Geo          string `json:"geo"`
		} `json:"data"`
	}
	day := time.Now().UTC().Format("2006-01-02")
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	testkit.Poll(t, "the conversion in the affiliate's log", 30*time.Second, func() (bool, string) {
		s.call("GET", "/v1/conversions?date_from="+day+"&date_to="+day, affiliate, "", &list)
		return len(list.Data) == 1, fmt.Sprintf("%+v", list.Data)
	})
	if got := list.Data[0]; got.ConversionID != conv.Data.ConversionID || got.ClickID != cid || got.Sub1 != "lost-in-redis" || got.Geo != "GB" {
		t.Fatalf("attributed as %+v", got)
	}
	// And deduplicated like any other: the same txid again is a duplicate.
	var again struct {
		Tracked bool   `json:"tracked"`
		Reason  string `json:"reason"`
	}
	if code := s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q,"txid":"LOST-1"}`, cid), &again); code != 200 || again.Tracked || again.Reason != "duplicate_txid" {
		t.Fatalf("the same txid again: %d %+v", code, again)
	}
}
