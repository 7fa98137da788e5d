package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// stackRedis connects to the stack's Redis, for tests that take its data
// away, and returns the stack's key prefix.
func stackRedis(t *testing.T, s *stack) (goredis.UniversalClient, string) {
	t.Helper()
	prefix := s.envValue("CLICKRELAY_REDIS_PREFIX")
	if prefix == "" {
		t.Fatal("the stack has no CLICKRELAY_REDIS_PREFIX")
	}
	return redis.ClientForTest(t, s.envValue("CLICKRELAY_REDIS_URL")), prefix
}

// loseConfiguration deletes the network's entities, API keys, ID sequences
// and click secret from the stack's Redis, as a Redis restarted without an
// append-only file would. Click records stay: an old click converting
// afterwards shows the click secret came back. (The keys are named rather
// than scanned for: the shared test Redis holds millions.)
func loseConfiguration(t *testing.T, client goredis.UniversalClient, prefix string) {
	t.Helper()
	names := []string{prefix + "apikeys", prefix + "secret:clickid"}
	for _, kind := range model.Kinds {
		names = append(names, prefix+"ent:"+string(kind), prefix+"seq:"+string(kind))
	}
	for _, name := range names { // one by one: on a Redis Cluster they live in different slots
		if err := client.Del(context.Background(), name).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigurationSurvivesRedisLoss(t *testing.T) {
	ctx := context.Background()
	s := startStack(t)
	client, prefix := stackRedis(t, s)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	var pb struct {
		PostbackID string `json:"postback_id"`
	}
	if code := s.call("POST", "/v1/postbacks", affiliate, `{"url":"https://tracker.example/pb?cid={click_id}"}`, &pb); code != 200 {
		t.Fatalf("register postback: %d", code)
	}
	var ep struct {
		Endpoint struct {
			URL string `json:"url"`
		} `json:"endpoint"`
	}
	if code := s.admin("POST", "/v2/pb-endpoints", fmt.Sprintf(`{"advertiser_id":%q,"kind":"primary"}`, n.advertiserID), &ep); code != 201 {
		t.Fatalf("create endpoint: %d", code)
	}
	link := s.createSmartLink(map[string]any{"name": "Kept", "offers": []map[string]any{{"offer_id": n.offerID, "weight": 3}}})
	click := func(s *stack) string {
		t.Helper()
		status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
		if status != 302 {
			t.Fatalf("click: %d", status)
		}
		return clickID(t, location, "cid")
	}
	// Clicks minted before the loss: their records stay in Redis, their
	// MACs need the old click secret.
	var oldClicks []string
	for range 3 {
		oldClicks = append(oldClicks, click(s))
	}

	// 1. Redis loses the configuration under running processes (an `all`
	// and a second `serve`): the next full reload keeps each catalog,
	// counts it and restores Redis.
	serve := s.startServe()
	loseConfiguration(t, client, prefix)
	for _, node := range []*stack{s, serve} {
		if status, _ := node.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID)); status != 302 {
			t.Fatalf("a click right after the loss: %d", status)
		}
	}
	if err := client.Publish(ctx, prefix+"invalidate", "*").Err(); err != nil { // a full reload now, not at the next resync
		t.Fatal(err)
	}
	testkit.Poll(t, "Redis restored by the reload", 30*time.Second, func() (bool, string) {
		there, err := client.HExists(ctx, prefix+"ent:offer", n.offerID).Result()
		return there, fmt.Sprintf("the offer in Redis: %v (%v)", there, err)
	})
	if got := s.metric("clickrelay_catalog_empty_reloads_total"); got < 1 {
		t.Errorf("clickrelay_catalog_empty_reloads_total = %v, want at least 1", got)
	}
	click(s)
	click(serve)
	if code := serve.call("GET", "/v1/postbacks", affiliate, "", nil); code != 200 {
		t.Errorf("the affiliate's key on the second node after the reload: %d", code)
	}
	serve.terminate()
	s.terminate()

	// 2. `clickrelay restore` rebuilds a Redis that lost it while stopped.
	loseConfiguration(t, client, prefix)
	restore := exec.Command(os.Args[0], "-test.run=^$", "restore")
	restore.Env = append(append(os.Environ(), "CLICKRELAY_E2E_CHILD=1"), s.env...)
	out, err := restore.CombinedOutput()
	if err != nil {
		t.Fatalf("clickrelay restore: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Redis restored from the entity journal") {
		t.Errorf("clickrelay restore did not say what it did:\n%s", out)
	}
	if !client.HExists(ctx, prefix+"ent:offer", n.offerID).Val() {
		t.Fatal("the offer is not back in Redis after clickrelay restore")
	}

	// 3. A start on a Redis that lost it restores by itself, loudly.
	loseConfiguration(t, client, prefix)
	env, adminKey := s.env, s.adminKey
	s = launch(t, "all", env)
	s.env, s.adminKey = env, adminKey
	if !strings.Contains(s.stderr.String(), "Redis lost its data") {
		t.Errorf("the start did not say it restored Redis:\n%s", s.stderr.String())
	}

	// Everything is back, and the old keys still work.
	click(s)
	if status, location := s.click("/s/" + link.Slug + "?aff_id=" + n.affiliateID); status != 302 || !strings.HasPrefix(location, "https://shop.example.com/land?") {
		t.Errorf("the restored smart link: %d %s", status, location)
	}
	var postbacks struct {
		Data []struct {
			PostbackID string `json:"postback_id"`
		} `json:"data"`
	}
	if code := s.call("GET", "/v1/postbacks", affiliate, "", &postbacks); code != 200 || len(postbacks.Data) != 1 || postbacks.Data[0].PostbackID != pb.PostbackID {
		t.Errorf("the affiliate's old key and postback: %d %+v", code, postbacks)
	}
	var conv struct {
		Data struct {
			Tracked bool `json:"tracked"`
		} `json:"data"`
	}
	if code := s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q,"txid":"T-1"}`, oldClicks[0]), &conv); code != 200 || !conv.Data.Tracked {
		t.Errorf("a click minted before the loss, converted with the advertiser's old key: %d %+v", code, conv)
	}
	if code := s.call("GET", ep.Endpoint.URL+"?clickid="+oldClicks[1]+"&txid=T-2&secure="+n.advertiserKey, nil, "", &conv); code != 200 || !conv.Data.Tracked {
		t.Errorf("the restored pb-endpoint: %d %+v", code, conv)
	}
	// IDs resume past the restored ones.
	var offer struct {
		Offer struct {
			ID string `json:"id"`
		} `json:"offer"`
	}
	body := fmt.Sprintf(`{"name":"After","tracking_url":"https://shop.example.com/","advertiser_id":%q,"payout":1}`, n.advertiserID)
	if code := s.admin("POST", "/v2/offers", body, &offer); code != 201 || offer.Offer.ID == n.offerID {
		t.Errorf("a new offer after the restore: %d, id %q (the restored one is %q)", code, offer.Offer.ID, n.offerID)
	}
	s.terminate()
}

// TestARedisRestartWithoutPersistenceLosesNoConfiguration is issue 8's
// case: Redis without an append-only file is killed and restarted empty
// under a running clickrelay. The start warned about it; the catalog never
// empties, clicks keep redirecting, and Redis is rebuilt from the journal.
func TestARedisRestartWithoutPersistenceLosesNoConfiguration(t *testing.T) {
	ctx := context.Background()
	r := startPrivateRedis(t)
	s := startStack(t, "CLICKRELAY_REDIS_URL="+r.url())
	if !strings.Contains(s.stderr.String(), "WITHOUT an append-only file") {
		t.Errorf("no warning about Redis without an append-only file:\n%s", s.stderr.String())
	}
	client, prefix := stackRedis(t, s)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")

	r.kill()
	r.start()
	// go-redis resubscribes to invalidations after the lost connection, and
	// that triggers a full reload: it finds Redis empty.
	testkit.Poll(t, "Redis rebuilt from the journal", 30*time.Second, func() (bool, string) {
		offer, secret := client.HExists(ctx, prefix+"ent:offer", n.offerID).Val(), client.Exists(ctx, prefix+"secret:clickid").Val() == 1
		return offer && secret, fmt.Sprintf("the offer in Redis: %v, the click secret: %v", offer, secret)
	})
	if got := s.metric("clickrelay_catalog_empty_reloads_total"); got < 1 {
		t.Errorf("clickrelay_catalog_empty_reloads_total = %v, want at least 1", got)
	}
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
	if status != 302 {
		t.Fatalf("click after the restart: %d", status)
	}
	cid := clickID(t, location, "cid")
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	var conv struct {
		Data struct {
			Tracked bool `json:"tracked"`
		} `json:"data"`
	}
	// The click reaches Redis behind its 302: retried until it has.
	testkit.Poll(t, "a fresh click converts with the restored key", 30*time.Second, func() (bool, string) {
		code := s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q,"txid":"R-1"}`, cid), &conv)
		return code == 200 && conv.Data.Tracked, fmt.Sprintf("%d %+v", code, conv)
	})
	s.terminate()
}

// TestAnAdminWriteTheJournalRefusesIsNotMade: with the journal unreachable
// (its database dropped), creating an offer answers 503 and neither Redis
// nor any catalog gets the offer, so nothing exists that a restore would
// not bring back.
func TestAnAdminWriteTheJournalRefusesIsNotMade(t *testing.T) {
	ctx := context.Background()
	s := startStack(t)
	client, prefix := stackRedis(t, s)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	if err := s.ch.DropDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"name":"Refused","tracking_url":"https://shop.example.com/","advertiser_id":%q,"payout":1}`, n.advertiserID)
	resp := s.raw("POST", "/v2/offers", map[string]string{"Authorization": "Bearer " + s.adminKey}, body)
	if resp.status != 503 || resp.header.Get("Retry-After") == "" {
		t.Fatalf("create an offer with the journal down: %d %s", resp.status, resp.body)
	}
	if got := client.HLen(ctx, prefix+"ent:offer").Val(); got != 1 {
		t.Errorf("Redis holds %d offers, want the 1 created before", got)
	}
	var list struct {
		Offers []struct {
			ID string `json:"id"`
		} `json:"offers"`
	}
	if code := s.admin("GET", "/v2/offers", "", &list); code != 200 || len(list.Offers) != 1 {
		t.Errorf("GET /v2/offers: %d, %d offers, want 1", code, len(list.Offers))
	}
}
