package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	goredis "github.com/redis/go-redis/v9"
)

// accounts reads what reached Redis and ClickHouse, from outside.
type accounts struct {
	redis  *goredis.Client
	ch     driver.Conn
	prefix string
	db     string
}

func openAccounts(o options, tag string) (*accounts, error) {
	ch, err := clickhouse.Open(&clickhouse.Options{Addr: []string{fmt.Sprintf("127.0.0.1:%d", o.clickhousePort)},
		DialTimeout: 2 * time.Second, ReadTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	return &accounts{
		redis:  goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", o.redisPort), ReadTimeout: 5 * time.Second}),
		ch:     ch,
		prefix: "flt:" + tag + ":",
		db:     "flt_" + tag,
	}, nil
}

func (a *accounts) close() {
	_ = a.redis.Close()
	_ = a.ch.Close()
}

// rollupSettle bounds how long account waits for the rollup to hold the
// raw table's clicks.
const rollupSettle = 10 * time.Second

func (a *accounts) count(ctx context.Context, query string) (int64, error) {
	var n uint64
	err := a.ch.QueryRow(ctx, query).Scan(&n)
	return int64(n), err
}

// waitCaughtUp waits until ClickHouse holds as many distinct clicks as were
// answered and a conversion for every tracked one, and the receiver got a
// postback for each, or until the deadline. It returns when that was.
func (a *accounts) waitCaughtUp(ctx context.Context, clicks []minted, convs []*conversion, rcv *receiver, d time.Duration) (time.Time, error) {
	tracked := 0
	for _, c := range convs {
		if c.outcome == outTracked {
			tracked++
		}
	}
	deadline := time.Now().Add(d)
	for {
		nc, errC := a.count(ctx, "SELECT uniqExact(click_id) FROM "+a.db+".clicks")
		nv, errV := a.count(ctx, "SELECT uniqExact(txid) FROM "+a.db+".conversions")
		got := rcv.counts()
		pb := 0
		for _, c := range convs {
			if c.outcome == outTracked && got[c.txid] > 0 {
				pb++
			}
		}
		if errC == nil && errV == nil && nc >= int64(len(clicks)) && nv >= int64(tracked) && pb >= tracked {
			return time.Now(), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Now(), fmt.Errorf("not caught up within %s: %d/%d clicks, %d/%d conversions, %d/%d postbacks (%v %v)",
				d, nc, len(clicks), nv, tracked, pb, tracked, errC, errV)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// countsBy runs a query of (key, UInt64 count) rows and maps each key to
// its count.
func (a *accounts) countsBy(ctx context.Context, query string) (map[string]int, error) {
	rows, err := a.ch.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var key string
		var n uint64
		if err := rows.Scan(&key, &n); err != nil {
			return nil, err
		}
		out[key] = int(n)
	}
	return out, nil
}

// account fills res with what was lost and what was doubled.
func (a *accounts) account(ctx context.Context, res *result, clicks []minted, convs []*conversion, postbacks map[string]int) error {
	// Clicks: ClickHouse after folding (FINAL) and before, and Redis.
	inCH, err := a.countsBy(ctx, "SELECT click_id, toUInt64(count()) FROM "+a.db+".clicks FINAL GROUP BY click_id")
	if err != nil {
		return fmt.Errorf("clicks: %w", err)
	}
	if res.ClickRows, err = a.count(ctx, "SELECT count() FROM "+a.db+".clicks"); err != nil {
		return err
	}
	for _, n := range inCH {
		res.ClickRowsFinal += int64(n)
		res.ClicksDoubled += int64(n - 1)
	}
	for _, c := range clicks {
		if inCH[c.id] == 0 {
			res.ClicksLostCH++
		}
	}
	// The per-minute rollup behind the stats APIs: a batch inserted twice
	// (redelivered after a crash) is counted twice there, as the raw
	// table's FINAL does not see. ClickHouse writes each block of an insert
	// to the raw table first and to its views after, so a read in between
	// (the sink's last insert, just as the clicks were all seen) finds the
	// rollup short: it is read again until it has caught up, for at most
	// rollupSettle, and a shortfall left then is reported.
	deadline := time.Now().Add(rollupSettle)
	for {
		// The rollup first: an insert landing between the two reads can
		// then only make it look short, which the next read corrects, and
		// never doubled.
		rolled, errR := a.count(ctx, "SELECT toUInt64(sum(clicks)) FROM "+a.db+".stats_minute")
		kept, errK := a.count(ctx, "SELECT count() FROM "+a.db+".clicks FINAL WHERE filtered = 0")
		if errR != nil || errK != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("rollup: %v %v", errR, errK))
			break
		}
		res.RollupClicksDoubled = rolled - kept
		if rolled >= kept || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	missing, err := a.missingInRedis(ctx, clicks, inCH)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	res.ClicksLostRedis, res.ClicksOnlyInCH = missing.lost, missing.onlyInCH

	// Conversions: per txid, the distinct conversion IDs stored.
	stored, err := a.countsBy(ctx, "SELECT txid, toUInt64(uniqExact(conversion_id)) FROM "+a.db+".conversions FINAL GROUP BY txid")
	if err != nil {
		return fmt.Errorf("conversions: %w", err)
	}
	reasons := map[string]int{}
	for _, c := range convs {
		res.ConversionsSent++
		if c.outage {
			res.OutageConverted.Sent++
		}
		switch c.outcome {
		case outTracked:
			res.ConversionsTracked++
			if c.outage {
				res.OutageConverted.Tracked++
			}
			if stored[c.txid] == 0 {
				res.ConversionsLost++
			}
			if postbacks[c.txid] == 0 {
				res.PostbacksLost++
			}
		case outDuplicate:
			// The advertiser was told its txid is known: an earlier try
			// was stored, or its claim was stranded (lost unknowingly).
			res.ConversionsDuplicateAck++
			if c.outage {
				res.OutageConverted.Tracked++
			}
			if stored[c.txid] == 0 {
				res.ConversionsLost++
			}
		case outRefused:
			res.ConversionsRefused++
			// Every conversion quotes a click answered with a 302: a
			// refusal to find it is a broken promise, whatever the status.
			if strings.Contains(c.reason, "Click not found") {
				res.ConversionsClickNotFound++
			}
			reasons[c.reason]++
			if c.outage {
				res.OutageConverted.Refused++
			}
		default:
			res.ConversionsGaveUp++
			reasons["gave up: "+c.reason]++
			if c.outage {
				res.OutageConverted.GaveUp++
			}
		}
		if n := stored[c.txid]; n > 1 {
			res.ConversionsDoubled += int64(n - 1)
		}
		if n := postbacks[c.txid]; n > 1 {
			res.PostbacksDoubled += int64(n - 1)
		}
		if stored[c.txid] > 0 && c.outcome != outTracked && c.outcome != outDuplicate {
			res.ConversionsStoredUnacknowledged++
		}
	}
	res.PostbacksExpected = res.ConversionsTracked
	for _, n := range postbacks {
		res.PostbacksReceived += int64(n)
	}
	res.Refusals = reasons
	return nil
}

// redisMisses counts answered clicks whose record Redis lacks: lost when
// ClickHouse lacks them too (no conversion can find them), or only in
// ClickHouse, where a conversion finds a click Redis does not hold.
type redisMisses struct{ lost, onlyInCH int64 }

// missingInRedis counts the answered clicks whose record Redis lacks.
func (a *accounts) missingInRedis(ctx context.Context, clicks []minted, inCH map[string]int) (redisMisses, error) {
	var missing redisMisses
	for i := 0; i < len(clicks); i += 1000 {
		batch := clicks[i:min(i+1000, len(clicks))]
		pipe := a.redis.Pipeline()
		cmds := make([]*goredis.IntCmd, len(batch))
		for j, c := range batch {
			cmds[j] = pipe.Exists(ctx, a.prefix+"click:"+c.id)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return missing, err
		}
		for j, c := range cmds {
			switch {
			case c.Val() != 0:
			case inCH[batch[j].id] > 0:
				missing.onlyInCH++
			default:
				missing.lost++
			}
		}
	}
	return missing, nil
}

func (a *accounts) dropDatabase(ctx context.Context) error {
	return a.ch.Exec(ctx, "DROP DATABASE IF EXISTS "+a.db)
}
