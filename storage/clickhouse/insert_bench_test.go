package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// BenchmarkInsertClicks50k is one sink batch of 50,000 clicks through every
// materialized view (stats_minute's and migration 0006's rollups): what
// each extra view costs the click path. Run it against a private
// ClickHouse (CLICKRELAY_TEST_CLICKHOUSE_DSN), not the shared test one:
//
//	go test -run '^$' -bench InsertClicks50k -benchtime 10x ./storage/clickhouse/
func BenchmarkInsertClicks50k(b *testing.B) {
	c := NewForTest(b)
	ctx := context.Background()
	batch := benchClicks(50_000, time.Now().UTC().Truncate(time.Hour))
	b.ResetTimer()
	for i := range b.N {
		// New IDs each time: the sink skips clicks already stored.
		b.StopTimer()
		for j := range batch {
			batch[j].ID = fmt.Sprintf("bench%04d-%08d", i, j)
		}
		b.StartTimer()
		if err := c.InsertClicks(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
}

// benchClicks are clicks shaped like bench/consoleday's day: skewed
// affiliates, each with its own campaign tree of subs, over two minutes.
func benchClicks(n int, at time.Time) []model.Click {
	r := rand.New(rand.NewPCG(1, 2))
	countries := []string{"US", "US", "US", "GB", "DE", "FR", "BR", "IN", "IN", "CA", "AU", "ES", "MX", "JP", "ID"}
	devices := []string{"mobile", "mobile", "mobile", "desktop", "tablet"}
	oses := map[string][]string{"mobile": {"ios", "android"}, "tablet": {"ios", "android"}, "desktop": {"windows", "macos", "linux"}}
	skewed := func(k int) int { u := r.Float64(); return int(u * u * u * float64(k)) }
	clicks := make([]model.Click, n)
	for i := range clicks {
		aff := int(r.Float64() * r.Float64() * 400)
		campaign := skewed(5)
		offer := (aff*37 + campaign*53) % 300
		device := devices[r.IntN(len(devices))]
		sub1 := fmt.Sprintf("cmp%d-%d", aff, campaign)
		sub2 := fmt.Sprintf("%s-as%d", sub1, skewed(4))
		clicks[i] = model.Click{
			Time:    at.Add(time.Duration(r.IntN(120_000)) * time.Millisecond).UnixMilli(),
			OfferID: fmt.Sprint(1000 + offer), AffiliateID: fmt.Sprint(5000 + aff), AdvertiserID: fmt.Sprint(100 + offer%40),
			Country: countries[r.IntN(len(countries))], Device: device, OS: oses[device][r.IntN(len(oses[device]))],
			Subs:   [5]string{sub1, sub2, fmt.Sprintf("%s-cr%d", sub2, skewed(3))},
			Unique: r.IntN(10) < 7,
		}
	}
	return clicks
}
