package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
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
	batch := loadgen.CampaignClicks(50_000, time.Now().UTC().Truncate(time.Hour))
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
