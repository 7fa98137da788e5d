package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// phaseCold converts clicks whose Redis key is gone, as a click older than
// the hot window is, while a click load keeps ClickHouse inserting: the
// conversion must find its click in ClickHouse.
const phaseCold = "cold-conversions"

// coldResult is what the cold-click phase measured.
type coldResult struct {
	Rate float64 `json:"conversions_per_second"`
	// Evicted is how many click keys the phase deleted from Redis, once
	// ClickHouse held those clicks.
	Evicted     int64            `json:"click_keys_evicted"`
	Conversions conversionResult `json:"conversions"`
	// FromClickHouse is how many conversions clickrelay says found their
	// click in ClickHouse during the phase: each of them, if the phase
	// measured the path it means to.
	FromClickHouse float64 `json:"clicks_found_in_clickhouse"`
	// LoadRate and LoadRedirected are the click load running meanwhile.
	LoadRate       float64 `json:"click_load_per_second"`
	LoadRedirected int64   `json:"click_load_redirected"`
}

// evictClicks waits until ClickHouse holds every one of ids, then deletes
// their click keys from Redis: the situation of a click past the hot
// window, whatever that window is set to.
func (s *stores) evictClicks(ctx context.Context, ids []string, within time.Duration) (int64, error) {
	if len(ids) == 0 {
		return 0, errors.New("no clicks to evict: the run before kept none")
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = "'" + strings.ReplaceAll(id, "'", "") + "'"
	}
	query := "SELECT count() FROM clickrelay.clicks WHERE click_id IN (" + strings.Join(quoted, ",") + ")"
	deadline := time.Now().Add(within)
	for {
		n, err := s.count(ctx, query)
		if err != nil {
			return 0, fmt.Errorf("counting the clicks to evict in ClickHouse: %w", err)
		}
		if n >= int64(len(ids)) {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("ClickHouse holds %d of the %d clicks to evict after %s", n, len(ids), within)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "cr:click:" + id
	}
	n, err := s.redis.Del(ctx, keys...).Result()
	if err != nil {
		return 0, fmt.Errorf("evicting %d click keys: %w", len(keys), err)
	}
	return n, nil
}

// stillInRedis counts how many of ids have their click key again (a cold
// lookup that caches the click back): accounting must not count those twice.
func (s *stores) stillInRedis(ctx context.Context, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "cr:click:" + id
	}
	return s.redis.Exists(ctx, keys...).Result()
}

// runCold evicts ids' click keys, then converts them at rate while a
// fixed-rate click load of loadRate runs on link.
func runCold(ctx context.Context, cr *clickrelay, st *stores, addr, advertiserKey string, ids []string, rate, loadRate float64, next link, rcv *receiver) (coldResult, error) {
	res := coldResult{Rate: rate, LoadRate: loadRate}
	var err error
	if res.Evicted, err = st.evictClicks(ctx, ids, 30*time.Second); err != nil {
		return res, err
	}
	// The click load starts first and outlasts the conversions by a
	// margin, so every conversion meets ClickHouse inserting.
	conversionTime := time.Duration(float64(len(ids)) / rate * float64(time.Second))
	var wg sync.WaitGroup
	var load rateResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		load = newFixedRate(addr, loadRate, 16).run(ctx, conversionTime+2*time.Second, next, 0)
	}()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	before, _ := cr.metric(clicksFromClickHouse) // absent before the first: 0
	res.Conversions = driveConversions(ctx, addr, advertiserKey, ids, rate, rcv, nil)
	after, _ := cr.metric(clicksFromClickHouse)
	res.FromClickHouse = after - before
	wg.Wait()
	res.LoadRedirected = load.Redirected
	return res, ctx.Err()
}

// clicksFromClickHouse counts the conversions whose click Redis did not hold.
const clicksFromClickHouse = "clickrelay_conversion_clicks_from_clickhouse_total"
