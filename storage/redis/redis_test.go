package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestEntitiesAreSharedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	a := NewForTest(t)
	// A second component on the same prefix plays another process.
	config := a.config
	b, err := New(Dependencies{Logger: a.log}, config)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())

	id, err := a.NextID(ctx, model.KindOffer)
	if err != nil {
		t.Fatal(err)
	}
	offer := &model.Offer{ID: id, Slug: "ofr_x_1", Name: "X", TrackingURL: "https://x.example/", Status: model.StatusActive}
	if err := a.SaveEntity(ctx, offer); err != nil {
		t.Fatal(err)
	}
	if got := a.Catalog().Offer(id); got == nil || got.Name != "X" {
		t.Fatalf("writer's own catalog does not see the offer: %+v", got)
	}

	paused := *offer
	paused.Status = model.StatusPaused
	if err := a.SaveEntity(ctx, &paused); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the other process sees the PATCH", time.Second, func() (bool, string) {
		o := b.Catalog().OfferBytes([]byte("ofr_x_1"))
		return o != nil && o.Status == model.StatusPaused, fmt.Sprintf("%+v", o)
	})

	if err := a.DeleteEntity(ctx, model.KindOffer, id); err != nil {
		t.Fatal(err)
	}
	testkit.Wait(t, "the other process forgets the deleted offer", time.Second, func() bool { return b.Catalog().Offer(id) == nil })
}

func TestAPIKeysAreFoundByHashOnly(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	p := model.Principal{Kind: model.KindAdvertiser, ID: "7"}
	if err := c.SaveAPIKey(ctx, "adv_secret_key", p); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Catalog().Principal("adv_secret_key"); !ok || got != p {
		t.Fatalf("Principal = %+v, %v", got, ok)
	}
	if _, ok := c.Catalog().Principal("adv_secret_kez"); ok {
		t.Fatal("a wrong key was accepted")
	}
	stored, err := c.client.HGetAll(ctx, c.keys.apiKeys()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for h, v := range stored {
		if h == "adv_secret_key" || v == "adv_secret_key" {
			t.Fatal("the key is stored in clear")
		}
	}
	// A fresh catalog (another process, a restart) loads it from Redis.
	if err := c.catalog.reloadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Catalog().Principal("adv_secret_key"); !ok {
		t.Fatal("key lost after reload")
	}
}

func TestClaimsAreAllOrNothing(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	now := time.Now()
	const lease = 10 * time.Second
	claim := func(owner string, claims []Claim, at time.Time) ClaimResult {
		t.Helper()
		res, err := c.Claim(ctx, owner, claims, nil, []byte(`{"id":"`+owner+`"}`), nil, at, lease)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := []Claim{{ClaimTxID, "adv1:ORDER-1", "adv1"}, {ClaimCustomer, "o1:cust-1", "adv1"}}
	if res := claim("conv_a", first, now); res.Held != -1 {
		t.Fatalf("first claim = %+v", res)
	}
	// Pending within its lease: in flight, nothing taken.
	second := []Claim{{ClaimTxID, "adv1:ORDER-1", "adv1"}, {ClaimCustomer, "o1:cust-2", "adv1"}}
	if res := claim("conv_b", second, now); res.Held != 0 || !res.InFlight || res.Stranded != nil {
		t.Fatalf("claim on an in-flight owner = %+v", res)
	}
	if err := c.Confirm(ctx, "conv_a", first); err != nil {
		t.Fatal(err)
	}
	// Confirmed: a duplicate on the txid; then on the customer.
	if res := claim("conv_b", second, now); res.Held != 0 || res.InFlight || res.Stranded != nil {
		t.Fatalf("duplicate txid claim = %+v", res)
	}
	third := []Claim{{ClaimTxID, "adv1:ORDER-2", "adv1"}, {ClaimCustomer, "o1:cust-1", "adv1"}}
	if res := claim("conv_c", third, now); res.Held != 1 || res.InFlight {
		t.Fatalf("duplicate customer claim = %+v", res)
	}
	// The refused claim took nothing: ORDER-2 is free.
	if res := claim("conv_d", third[:1], now); res.Held != -1 {
		t.Fatal("the refused claim took ORDER-2 anyway")
	}
	// conv_d never confirms (its process died). After its lease, the next
	// request takes the lease over and gets conv_d to re-publish; a third
	// meanwhile sees it in flight again.
	later := now.Add(lease + time.Second)
	res := claim("conv_e", third[:1], later)
	if res.Held != 0 || string(res.Stranded) != `{"id":"conv_d"}` {
		t.Fatalf("claim on a stranded owner = %+v", res)
	}
	if res := claim("conv_f", third[:1], later); !res.InFlight {
		t.Fatalf("claim while the stranded owner is re-published = %+v", res)
	}
	// A non-owner's confirm changes nothing; the owner's does.
	if err := c.Confirm(ctx, "conv_e", third[:1]); err != nil {
		t.Fatal(err)
	}
	if res := claim("conv_f", third[:1], later); !res.InFlight {
		t.Fatal("a non-owner confirmed the claim")
	}
	if err := c.Confirm(ctx, "conv_d", third[:1]); err != nil {
		t.Fatal(err)
	}
	if res := claim("conv_f", third[:1], later); res.Held != 0 || res.InFlight || res.Stranded != nil {
		t.Fatalf("claim after the re-publish was confirmed = %+v", res)
	}
	// Abandon ends a lease at once: no waiting for it after an ambiguous
	// broker error.
	fourth := []Claim{{ClaimTxID, "adv1:ORDER-3", "adv1"}}
	claim("conv_g", fourth, now)
	if err := c.Abandon(ctx, "conv_g", fourth); err != nil {
		t.Fatal(err)
	}
	if res := claim("conv_h", fourth, now); string(res.Stranded) != `{"id":"conv_g"}` {
		t.Fatalf("claim after abandon = %+v", res)
	}
	// Release frees only what the owner holds.
	if err := c.Release(ctx, "conv_b", first); err != nil {
		t.Fatal(err)
	}
	if res := claim("conv_x", first[:1], now); res.Held != 0 {
		t.Fatal("a non-owner's release freed the claim")
	}
	if err := c.Release(ctx, "conv_a", first); err != nil {
		t.Fatal(err)
	}
	if res := claim("conv_y", first, now); res.Held != -1 {
		t.Fatal("the owner's release did not free the claims")
	}
}

func TestClicksAndUniqueMarks(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	var batch []ClickWrite
	for i := 0; i < 100; i++ {
		batch = append(batch, ClickWrite{ID: []byte(fmt.Sprint("c", i)), Payload: []byte(fmt.Sprintf(`{"click_id":"c%d"}`, i))})
	}
	if err := c.SaveClicks(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, found, err := c.Click(ctx, "c42")
	if err != nil || !found || string(got) != `{"click_id":"c42"}` {
		t.Fatalf("Click(c42) = %s, %v, %v", got, found, err)
	}
	// Redis keeps a click for its hot window only: older ones are read
	// from ClickHouse.
	if ttl := c.client.TTL(ctx, c.keys.click("c42")).Val(); ttl < c.config.HotWindow-time.Minute || ttl > c.config.HotWindow {
		t.Errorf("click TTL %v, want the hot window %v", ttl, c.config.HotWindow)
	}
	if _, found, _ := c.Click(ctx, "nope"); found {
		t.Fatal("found a click never stored")
	}

	// Unique visitors are answered in the same round trip.
	marks := []ClickWrite{
		{ID: []byte("a"), Payload: []byte("{}"), OfferID: "1", Visitor: 0xbeef},
		{ID: []byte("b"), Payload: []byte("{}"), OfferID: "1", Visitor: 0xbeef}, // same visitor, same offer
		{ID: []byte("c"), Payload: []byte("{}"), OfferID: "2", Visitor: 0xbeef}, // another offer
		{ID: []byte("d"), Payload: []byte("{}"), OfferID: "1"},                  // nothing asked
	}
	if err := c.SaveClicks(ctx, marks); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(marks[0].Unique, marks[1].Unique, marks[2].Unique, marks[3].Unique); got != "true false true false" {
		t.Fatalf("unique = %s", got)
	}
	// A click stored again (a retry) stays unique.
	again := []ClickWrite{{ID: []byte("a"), Payload: []byte("{}"), OfferID: "1", Visitor: 0xbeef}}
	if err := c.SaveClicks(ctx, again); err != nil || !again[0].Unique {
		t.Fatalf("the first click asked again = %v, %v", again[0].Unique, err)
	}
	// The mark is remembered for the window less its margin, from about
	// when it was set.
	mark, ok := c.marks.marks[c.marks.key("1", 0xbeef)]
	if life := markLife(c.config.UniqueWindow).Milliseconds(); !ok || mark.until > c.marks.now()+life || mark.until < c.marks.now()+life-time.Minute.Milliseconds() {
		t.Errorf("the mark is remembered until %d (found: %v), want about now (%d) + %d ms", mark.until, ok, c.marks.now(), life)
	}
	// The visitor's next click: the marks this process set answer it
	// without a command.
	next := []ClickWrite{{ID: []byte("e"), Payload: []byte("{}"), OfferID: "2", Visitor: 0xbeef}}
	if err := c.SaveClicks(ctx, next); err != nil || next[0].Unique {
		t.Fatalf("the visitor's next click: unique %v, %v", next[0].Unique, err)
	}
	if n := c.marksRemembered.Get(); n != 2 {
		t.Errorf("%d questions answered from the process's marks, want 2 (the retry and the next click)", n)
	}
	// Another process, which did not set the mark, asks Redis: the same
	// answer, and it does not remember a mark it did not set.
	other := withJournal(t, c, nil)
	for _, id := range []string{"f", "g"} {
		elsewhere := []ClickWrite{{ID: []byte(id), Payload: []byte("{}"), OfferID: "1", Visitor: 0xbeef}}
		if err := other.SaveClicks(ctx, elsewhere); err != nil || elsewhere[0].Unique {
			t.Fatalf("click %s in another process: unique %v, %v", id, elsewhere[0].Unique, err)
		}
	}
	if n := other.marksRemembered.Get(); n != 0 {
		t.Errorf("the other process answered %d questions from marks it never set", n)
	}
}

func TestRetryQueue(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	now := time.Now()
	for i, due := range []time.Duration{-time.Second, 0, time.Hour} {
		if err := c.ScheduleRetry(ctx, now.Add(due), []byte(fmt.Sprint("job", i))); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := c.TakeDueRetries(ctx, now, time.Minute, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("due = %v, %v", jobs, err)
	}
	if again, _ := c.TakeDueRetries(ctx, now, time.Minute, 10); len(again) != 0 {
		t.Fatalf("taken twice while leased: %v", again)
	}
	// job0 is finished; job1's holder died: it is due again after its lease.
	if err := c.FinishRetry(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	again, err := c.TakeDueRetries(ctx, now.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(again) != 1 || again[0] != jobs[1] {
		t.Fatalf("after the lease ran out = %v, %v; want [%s]", again, err, jobs[1])
	}
	if n, _ := c.PendingRetries(ctx); n != 2 {
		t.Fatalf("pending = %d, want 2 (the re-leased job and the future one)", n)
	}
}

func TestSecretIsSharedAndStable(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	a, err := c.Secret(ctx, "clickid")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Secret(ctx, "clickid")
	if len(a) != 32 || string(a) != string(b) {
		t.Fatalf("secret changed: %x vs %x", a, b)
	}
}

// TestAffiliatesAreFoundByAppID: the publisher feed authenticates by
// app_id, so the index follows a changed app_id and a deleted affiliate.
func TestAffiliatesAreFoundByAppID(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	aff := &model.Affiliate{ID: "7", Name: "Jane", AppID: "app-one", Status: model.StatusActive}
	if err := c.SaveEntity(ctx, aff); err != nil {
		t.Fatal(err)
	}
	if got := c.Catalog().AffiliateByAppID("app-one"); got == nil || got.ID != "7" {
		t.Fatalf("by app_id: %+v", got)
	}
	if got := c.Catalog().AffiliateByAppID(""); got != nil {
		t.Fatalf("an empty app_id finds %+v", got)
	}
	moved := *aff
	moved.AppID = "app-two"
	if err := c.SaveEntity(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if c.Catalog().AffiliateByAppID("app-one") != nil || c.Catalog().AffiliateByAppID("app-two") == nil {
		t.Fatal("the index did not follow the new app_id")
	}
	if err := c.DeleteEntity(ctx, model.KindAffiliate, "7"); err != nil {
		t.Fatal(err)
	}
	if c.Catalog().AffiliateByAppID("app-two") != nil {
		t.Fatal("a deleted affiliate is still found by app_id")
	}
}

func TestClickTTLIsTheHotWindowWithinTheAttributionWindow(t *testing.T) {
	cases := []struct {
		name             string
		hot, attribution time.Duration
		want             time.Duration
	}{
		{"the hot window", 48 * time.Hour, 720 * time.Hour, 48 * time.Hour},
		{"never past the attribution window", 48 * time.Hour, 24 * time.Hour, 24 * time.Hour},
		{"unset: the attribution window", 0, 720 * time.Hour, 720 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := &Component{config: Configuration{HotWindow: c.hot, AttributionWindow: c.attribution}}
			if got := comp.clickTTL(); got != c.want {
				t.Fatalf("clickTTL = %v, want %v", got, c.want)
			}
		})
	}
}

// Writers updating one entity at once, each its own field, lose nothing:
// each update is applied to the entity as Redis holds it, and saved only if
// nothing came in between.
func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	c := NewForTest(t)
	ctx := context.Background()
	if err := c.SaveEntity(ctx, &model.Offer{ID: "1", Name: "Racing", Metadata: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, err := c.UpdateEntity(ctx, model.KindOffer, "1", func(e model.Entity) (model.Entity, error) {
					o := e.(*model.Offer)
					o.Metadata[fmt.Sprintf("w%d-%d", w, i)] = "done"
					return o, nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("update: %v", err)
	}
	got, found, err := c.loadEntity(ctx, model.KindOffer, "1")
	if err != nil || !found {
		t.Fatalf("load: %v %v", found, err)
	}
	if n := len(got.(*model.Offer).Metadata); n != writers*each {
		t.Errorf("%d of %d changes kept", n, writers*each)
	}
	// The catalog follows: this process's at once or, when two of its own
	// writes crossed, at the invalidation that reloads the entity.
	testkit.Wait(t, "the catalog to hold every change", 5*time.Second, func() bool {
		o := c.Catalog().Offer("1")
		return o != nil && len(o.Metadata) == writers*each
	})
}

// An update's change may leave the entity as it is, or refuse; an entity
// Redis does not hold is ErrNoEntity.
func TestUpdateEntityNoChangeAndMissing(t *testing.T) {
	c := NewForTest(t)
	ctx := context.Background()
	if err := c.SaveEntity(ctx, &model.Offer{ID: "1", Name: "Kept"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.UpdateEntity(ctx, model.KindOffer, "1", func(model.Entity) (model.Entity, error) { return nil, ErrNoChange })
	if err != nil || got.(*model.Offer).Name != "Kept" {
		t.Errorf("no change: %v %+v", err, got)
	}
	refused := errors.New("refused")
	if _, err := c.UpdateEntity(ctx, model.KindOffer, "1", func(model.Entity) (model.Entity, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Errorf("a refused change: %v", err)
	}
	if _, err := c.UpdateEntity(ctx, model.KindOffer, "2", func(e model.Entity) (model.Entity, error) { return e, nil }); !errors.Is(err, ErrNoEntity) {
		t.Errorf("a missing entity: %v", err)
	}
}

// Conversions racing for a cap's last places take exactly the limit: the
// counters are checked and added to in the script that takes the claims.
// One past a cap takes its claims all the same, with the rejected payload,
// and adds to no counter; a money cap refuses what would carry it past its
// limit.
func TestClaimsCountCapsExactly(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	now := time.Now()
	daily := CapCount{Key: c.CapKey("adv1", "o:1:conversions:2026-12-06"), Limit: 20, Add: 1, TTL: 48 * time.Hour}
	payout := CapCount{Key: c.CapKey("adv1", "o:1:payout:2026-12"), Limit: 100_000_000, Add: 2_500_000, TTL: 40 * 24 * time.Hour}
	var fit, past atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			owner := fmt.Sprintf("conv_%d", i)
			claims := []Claim{{ClaimTxID, "adv1:T-" + owner, "adv1"}}
			res, err := c.Claim(ctx, owner, claims, []CapCount{daily, payout}, []byte("tracked"), []byte("rejected"), now, 10*time.Second)
			switch {
			case err != nil:
				t.Error(err)
			case res.Held != -1:
				t.Errorf("%s: claims not taken: %+v", owner, res)
			case res.CapReached == 0:
				past.Add(1)
			case res.CapReached == -1:
				fit.Add(1)
			default:
				t.Errorf("%s: %+v", owner, res)
			}
		})
	}
	wg.Wait()
	totals, err := c.CapTotals(ctx, []string{daily.Key, payout.Key})
	if err != nil {
		t.Fatal(err)
	}
	if fit.Load() != 20 || past.Load() != 40 || totals[0] != 20 || totals[1] != 50_000_000 {
		t.Errorf("%d fit, %d past the cap; counters %v: want 20, 40 and [20 50000000]", fit.Load(), past.Load(), totals)
	}
	if ttl := c.client.PTTL(ctx, daily.Key).Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
		t.Errorf("the day counter lives %s", ttl)
	}
	// A claim taken past a cap holds the rejected conversion, which a
	// request meeting it once its lease ran out re-publishes.
	res, err := c.Claim(ctx, "conv_late", []Claim{{ClaimTxID, "adv1:T-conv_59", "adv1"}}, []CapCount{daily}, []byte("x"), []byte("y"),
		now.Add(time.Minute), 10*time.Second)
	if err != nil || res.Held != 0 || (string(res.Stranded) != "tracked" && string(res.Stranded) != "rejected") {
		t.Errorf("the stranded claim: %+v %v", res, err)
	}

	// 38 places of 2.5 left under the payout cap: a conversion paying 40
	// does not fit, one paying 37.5 does, exactly.
	big := payout
	big.Add = 50_000_001
	if res, _ := c.Claim(ctx, "conv_big", nil, []CapCount{big}, nil, nil, now, time.Second); res.CapReached != 0 {
		t.Errorf("past the payout cap: %+v", res)
	}
	big.Add = 50_000_000
	if res, _ := c.Claim(ctx, "conv_fits", nil, []CapCount{big}, nil, nil, now, time.Second); res.CapReached != -1 {
		t.Errorf("up to the payout cap: %+v", res)
	}
	if err := c.ReleaseCaps(ctx, []CapCount{big}); err != nil {
		t.Fatal(err)
	}
	if totals, _ := c.CapTotals(ctx, []string{payout.Key}); totals[0] != 50_000_000 {
		t.Errorf("after a release: %v", totals)
	}
}

// A batch's clicks on a counter are counted at once, and each click learns
// where the counter stood once it was added, in the batch's order, as if
// counted one by one: the click that reaches a limit knows it did.
func TestABatchCountsItsClicksCaps(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	day, payout := c.keys.prefix+"cap:day", c.keys.prefix+"cap:payout"
	if err := c.client.Set(ctx, day, 10, 0).Err(); err != nil { // counted before
		t.Fatal(err)
	}
	var batch []ClickWrite
	for i := range 5 {
		w := ClickWrite{ID: []byte(fmt.Sprint("k", i)), Payload: []byte("{}"), Caps: []CapCount{{Key: day, Limit: 13, Add: 1, TTL: time.Hour}}}
		if i%2 == 0 {
			w.Caps = append(w.Caps, CapCount{Key: payout, Limit: 1_000_000, Add: 250_000})
		}
		batch = append(batch, w)
	}
	if err := c.SaveClicks(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range batch {
		var totals []string
		for _, k := range w.Caps {
			totals = append(totals, fmt.Sprint(k.Total))
		}
		got = append(got, strings.Join(totals, "+"))
	}
	testkit.Equal(t, "each click's totals", []string{"11+250000", "12", "13+500000", "14", "15+750000"}, got)
	if n, _ := c.client.Get(ctx, day).Int64(); n != 15 {
		t.Errorf("the day's counter holds %d, want 15", n)
	}
	if n, _ := c.client.Get(ctx, payout).Int64(); n != 750_000 {
		t.Errorf("the payout counter holds %d, want 750000", n)
	}
	if ttl := c.client.PTTL(ctx, day).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("the day's counter expires in %v, want within the hour its period asked", ttl)
	}
	if ttl := c.client.PTTL(ctx, payout).Val(); ttl != -1 {
		t.Errorf("a total's counter expires in %v, want never", ttl)
	}
}
