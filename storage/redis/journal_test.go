package redis

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// memJournal is a journal in memory, with a switch to refuse writes.
type memJournal struct {
	mu      sync.Mutex
	records map[[2]string]model.JournalRecord
	refuse  bool
}

func newMemJournal() *memJournal {
	return &memJournal{records: map[[2]string]model.JournalRecord{}}
}

func (j *memJournal) AppendJournal(_ context.Context, records []model.JournalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.refuse {
		return errors.New("journal down")
	}
	for _, r := range records {
		k := [2]string{r.Kind, r.ID}
		if old, ok := j.records[k]; !ok || r.Version > old.Version {
			j.records[k] = r
		}
	}
	return nil
}

func (j *memJournal) LoadJournal(context.Context) ([]model.JournalRecord, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]model.JournalRecord, 0, len(j.records))
	for _, r := range j.records {
		out = append(out, r)
	}
	return out, nil
}

func (j *memJournal) get(kind, id string) (model.JournalRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.records[[2]string{kind, id}]
	return r, ok
}

// withJournal starts another component on c's Redis and prefix (another
// process of the same network) with journal j.
func withJournal(t *testing.T, c *Component, j Journal) *Component {
	t.Helper()
	other, err := New(Dependencies{Logger: c.log, Journal: j}, c.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Stop(context.Background()) })
	return other
}

// wipe deletes the entities, keys, sequences and secrets of c's prefix:
// Redis lost its data. (The shared test Redis holds millions of keys; a
// SCAN of them would take most of a minute.)
func wipe(t *testing.T, c *Component) {
	t.Helper()
	names := []string{c.keys.apiKeys(), c.keys.secret("clickid")}
	for _, kind := range model.Kinds {
		names = append(names, c.keys.entities(kind), c.keys.sequence(kind))
	}
	for _, name := range names { // one by one: on a Redis Cluster they live in different slots
		if err := c.client.Del(context.Background(), name).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStartRestoresAnEmptiedRedisFromTheJournal(t *testing.T) {
	ctx := context.Background()
	j := newMemJournal()
	c := withJournal(t, NewForTest(t), j)

	offerID, err := c.NextID(ctx, model.KindOffer)
	if err != nil {
		t.Fatal(err)
	}
	offer := &model.Offer{ID: offerID, Slug: "ofr_kept_1", Name: "Kept", TrackingURL: "https://x.example/", Status: model.StatusActive}
	aff := &model.Affiliate{ID: "1", Name: "Jane", AppID: "app-1"}
	kept := &model.Postback{ID: "pb_1", AffiliateID: "1", URL: "https://t.example/?c={click_id}"}
	gone := &model.Postback{ID: "pb_2", AffiliateID: "1", URL: "https://t.example/2"}
	link := &model.SmartLink{ID: "1", Slug: "sl_kept_1", Name: "Mix", Status: model.StatusActive,
		Offers: []model.SmartLinkOffer{{OfferID: offerID, Weight: 3, Priority: 1}}}
	for _, e := range []model.Entity{offer, aff, kept, gone, link} {
		if err := c.SaveEntity(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteEntity(ctx, model.KindPostback, "pb_2"); err != nil {
		t.Fatal(err)
	}
	p := model.Principal{Kind: model.KindAffiliate, ID: "1"}
	if err := c.SaveAPIKey(ctx, "aff_old_key", p); err != nil {
		t.Fatal(err)
	}
	if err := c.ReplaceAPIKeys(ctx, "aff_new_key", p); err != nil {
		t.Fatal(err)
	}
	secret, err := c.Secret(ctx, "clickid")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.client.Set(ctx, c.keys.sequence(model.KindPostback), 2, 0).Err(); err != nil {
		t.Fatal(err)
	}

	wipe(t, c)
	d := withJournal(t, c, j) // a process starting on the emptied Redis
	cat := d.Catalog()
	if o := cat.Offer("ofr_kept_1"); o == nil || o.Name != "Kept" {
		t.Errorf("offer not restored: %+v", o)
	}
	if l := cat.SmartLink("sl_kept_1"); l == nil || l.Name != "Mix" || len(l.Offers) != 1 || l.Offers[0].Weight != 3 || cat.SmartLink("1") != l {
		t.Errorf("smart link not restored: %+v", l)
	}
	if a := cat.AffiliateByAppID("app-1"); a == nil {
		t.Error("affiliate not restored")
	}
	if cat.Postback("pb_1") == nil || cat.Postback("pb_2") != nil {
		t.Errorf("postbacks: pb_1 %v (want restored), pb_2 %v (want deleted)", cat.Postback("pb_1"), cat.Postback("pb_2"))
	}
	if got, ok := cat.Principal("aff_new_key"); !ok || got != p {
		t.Errorf("the current key does not work after the restore: %+v %v", got, ok)
	}
	if _, ok := cat.Principal("aff_old_key"); ok {
		t.Error("a replaced key works again after the restore")
	}
	if again, err := d.Secret(ctx, "clickid"); err != nil || !bytes.Equal(again, secret) {
		t.Errorf("the click secret changed across the restore (%v)", err)
	}
	// Sequences resume past every ID the journal has seen, deleted ones too.
	for _, tc := range []struct {
		kind model.Kind
		want string
	}{{model.KindOffer, "2"}, {model.KindAffiliate, "2"}, {model.KindPostback, "3"}, {model.KindSmartLink, "2"}} {
		if id, err := d.NextID(ctx, tc.kind); err != nil || id != tc.want {
			t.Errorf("NextID(%s) = %q, %v; want %q", tc.kind, id, err, tc.want)
		}
	}
}

func TestAWriteTheJournalRefusesIsNotMade(t *testing.T) {
	ctx := context.Background()
	j := newMemJournal()
	c := withJournal(t, NewForTest(t), j)
	j.refuse = true
	tests := []struct {
		name  string
		write func() error
		check func() bool // true when Redis was left alone
	}{
		{"save", func() error {
			return c.SaveEntity(ctx, &model.Advertiser{ID: "9", Name: "Acme"})
		}, func() bool {
			n, _ := c.client.HExists(ctx, c.keys.entities(model.KindAdvertiser), "9").Result()
			return !n && c.Catalog().Advertiser("9") == nil
		}},
		{"key", func() error {
			return c.SaveAPIKey(ctx, "adv_refused", model.Principal{Kind: model.KindAdvertiser, ID: "9"})
		}, func() bool {
			_, ok := c.Catalog().Principal("adv_refused")
			n, _ := c.client.HLen(ctx, c.keys.apiKeys()).Result()
			return !ok && n == 0
		}},
		{"secret", func() error {
			_, err := c.Secret(ctx, "refused")
			return err
		}, func() bool {
			n, _ := c.client.Exists(ctx, c.keys.secret("refused")).Result()
			return n == 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); err == nil {
				t.Fatal("the write succeeded while the journal refused it")
			}
			if !tc.check() {
				t.Error("Redis was changed by a write the journal refused")
			}
		})
	}
}

func TestAnEmptyReloadKeepsThePopulatedCatalog(t *testing.T) {
	for _, tc := range []struct {
		name    string
		journal bool
	}{{"without a journal", false}, {"with a journal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var j Journal
			if tc.journal {
				j = newMemJournal()
			}
			c := withJournal(t, NewForTest(t), j)
			offer := &model.Offer{ID: "1", Slug: "ofr_one_1", Name: "One", TrackingURL: "https://x.example/", Status: model.StatusActive}
			if err := c.SaveEntity(ctx, offer); err != nil {
				t.Fatal(err)
			}
			// Only the reload under test may touch the catalog: the
			// save's own invalidation, arriving after the wipe, would
			// remove the offer it no longer finds.
			c.cancel()
			c.wg.Wait()
			wipe(t, c)
			if err := c.catalog.reloadAll(ctx); err != nil {
				t.Fatal(err)
			}
			if c.Catalog().Offer("1") == nil {
				t.Fatal("a reload on an emptied Redis emptied the catalog")
			}
			if n := c.Catalog().EmptyReloads(); n != 1 {
				t.Errorf("empty reloads = %d, want 1", n)
			}
			restored, err := c.client.HExists(ctx, c.keys.entities(model.KindOffer), "1").Result()
			if err != nil {
				t.Fatal(err)
			}
			if restored != tc.journal {
				t.Errorf("offer back in Redis: %v, want %v", restored, tc.journal)
			}
		})
	}
}

func TestStartCopiesIntoTheJournalWhatItLacks(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t) // written before the journal existed
	if err := c.SaveEntity(ctx, &model.Advertiser{ID: "1", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveAPIKey(ctx, "adv_before", model.Principal{Kind: model.KindAdvertiser, ID: "1"}); err != nil {
		t.Fatal(err)
	}
	secret, err := c.Secret(ctx, "clickid")
	if err != nil {
		t.Fatal(err)
	}
	j := newMemJournal()
	d := withJournal(t, c, j)
	// Secrets are copied when read: a start reads the ones it uses.
	if again, err := d.Secret(ctx, "clickid"); err != nil || !bytes.Equal(again, secret) {
		t.Fatalf("the click secret changed (%v)", err)
	}
	if _, ok := j.get(string(model.KindAdvertiser), "1"); !ok {
		t.Error("the advertiser was not copied into the journal")
	}
	hash := HashKey("adv_before")
	if r, ok := j.get(model.JournalAPIKey, apiKeyRecord(hash, nil).ID); !ok || r.Deleted {
		t.Error("the API key was not copied into the journal")
	}
	if r, ok := j.get(model.JournalSecret, "clickid"); !ok || !bytes.Equal(r.Body, secret) {
		t.Error("the click secret was not copied into the journal")
	}
}

func TestNextIDSkipsIDsInUse(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	for _, id := range []string{"1", "2"} {
		if err := c.SaveEntity(ctx, &model.Advertiser{ID: id, Name: "A" + id}); err != nil {
			t.Fatal(err)
		}
	}
	// The sequence is lost, the entities are not (the catalog kept them).
	if err := c.client.Del(ctx, c.keys.sequence(model.KindAdvertiser)).Err(); err != nil {
		t.Fatal(err)
	}
	if id, err := c.NextID(ctx, model.KindAdvertiser); err != nil || id != "3" {
		t.Fatalf("NextID = %q, %v; want 3", id, err)
	}
}

// On a Redis Cluster each hash lives on one master: a master restarted
// empty loses the API keys (or the offers) while the other entities stay.
// A reload keeps what the catalog held of them, a starting process finds
// them gone, and both restore them from the journal.
func TestOneLostHashIsRestored(t *testing.T) {
	for _, tc := range []struct{ lost string }{{"api keys"}, {"offers"}} {
		t.Run(tc.lost, func(t *testing.T) {
			ctx := context.Background()
			j := newMemJournal()
			c := withJournal(t, NewForTest(t), j)
			offer := &model.Offer{ID: "1", Slug: "ofr_one_1", Name: "One", TrackingURL: "https://x.example/", Status: model.StatusActive}
			aff := &model.Affiliate{ID: "1", Name: "Jane", AppID: "app-1"}
			for _, e := range []model.Entity{offer, aff} {
				if err := c.SaveEntity(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			p := model.Principal{Kind: model.KindAffiliate, ID: "1"}
			if err := c.SaveAPIKey(ctx, "aff_kept_key", p); err != nil {
				t.Fatal(err)
			}
			c.cancel() // only the reload under test touches the catalog
			c.wg.Wait()
			lose := func() {
				name := map[string]string{"api keys": c.keys.apiKeys(), "offers": c.keys.entities(model.KindOffer)}[tc.lost]
				if err := c.client.Del(ctx, name).Err(); err != nil {
					t.Fatal(err)
				}
			}
			held := func(cat *Catalog, who string) {
				t.Helper()
				if got, ok := cat.Principal("aff_kept_key"); !ok || got != p {
					t.Errorf("%s: the API key: %+v %v", who, got, ok)
				}
				if cat.Offer("ofr_one_1") == nil || cat.AffiliateByAppID("app-1") == nil {
					t.Errorf("%s: the offer %v, the affiliate %v", who, cat.Offer("ofr_one_1"), cat.AffiliateByAppID("app-1"))
				}
			}
			lose()
			if err := c.catalog.reloadAll(ctx); err != nil {
				t.Fatal(err)
			}
			held(c.Catalog(), "the running process after a reload")
			if n := c.Catalog().EmptyReloads(); n != 1 {
				t.Errorf("reloads that kept the catalog = %d, want 1", n)
			}
			lose()
			held(withJournal(t, c, j).Catalog(), "a process starting on it")
			key := HashKey("aff_kept_key")
			if n, err := c.client.HLen(ctx, c.keys.apiKeys()).Result(); err != nil || n != 1 {
				t.Errorf("API keys back in Redis: %d %v", n, err)
			}
			if ok, err := c.client.HExists(ctx, c.keys.apiKeys(), hex.EncodeToString(key[:])).Result(); err != nil || !ok {
				t.Errorf("the key's hash back in Redis: %v %v", ok, err)
			}
		})
	}
}

// distantJournal is memJournal answering after a varying delay, as a
// journal across the network does: writes of one entity in flight then
// overtake each other there.
type distantJournal struct{ *memJournal }

func (j distantJournal) AppendJournal(ctx context.Context, records []model.JournalRecord) error {
	time.Sleep(rand.N(200 * time.Microsecond))
	return j.memJournal.AppendJournal(ctx, records)
}

// Concurrent writes of one entity (saves, updates and deletes) leave the
// journal's latest record the one Redis kept: after Redis loses its data,
// the restore brings back what the network last served, not a version
// Redis was overwritten with.
func TestConcurrentWritesOfOneEntityRestoreAsRedisHeldThem(t *testing.T) {
	ctx := context.Background()
	j := newMemJournal()
	c := withJournal(t, NewForTest(t), distantJournal{j})
	const rounds, writers = 20, 8
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				name := fmt.Sprintf("round %d writer %d", round, w)
				var err error
				switch {
				case w == 0 && round%4 == 1:
					err = c.DeleteEntity(ctx, model.KindAdvertiser, "1")
				case w%3 == 1: // an update finds the advertiser deleted, or changes it
					_, err = c.UpdateEntity(ctx, model.KindAdvertiser, "1", func(model.Entity) (model.Entity, error) {
						return &model.Advertiser{ID: "1", Name: name}, nil
					})
					if errors.Is(err, ErrNoEntity) {
						err = nil
					}
				default:
					err = c.SaveEntity(ctx, &model.Advertiser{ID: "1", Name: name})
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		held, err := c.client.HGet(ctx, c.keys.entities(model.KindAdvertiser), "1").Result()
		if err != nil && !isNil(err) {
			t.Fatal(err)
		}
		rec, ok := j.get(string(model.KindAdvertiser), "1")
		switch {
		case !ok:
			t.Fatalf("round %d: the journal holds nothing of the advertiser", round)
		case isNil(err) != rec.Deleted || string(rec.Body) != held:
			t.Fatalf("round %d: Redis holds %q (deleted: %v), the journal's latest record %q (deleted: %v): a restore would bring back another version",
				round, held, isNil(err), rec.Body, rec.Deleted)
		}
	}
	// And the restore itself: a process starting on the emptied Redis.
	want, _ := c.client.HGet(ctx, c.keys.entities(model.KindAdvertiser), "1").Result()
	if want == "" {
		t.Fatal("the last round, which deletes nothing, left no advertiser")
	}
	wipe(t, c)
	d := withJournal(t, c, j)
	if got, _ := d.client.HGet(ctx, d.keys.entities(model.KindAdvertiser), "1").Result(); got != want {
		t.Errorf("restored %q, Redis held %q", got, want)
	}
}

// An update that loses to a delete between its read and its write (here
// the delete runs inside its change, deterministically) journals nothing:
// the journal's latest record stays the delete Redis holds, and a restore
// does not bring the advertiser back.
func TestAnUpdateLosingToADeleteJournalsNothing(t *testing.T) {
	ctx := context.Background()
	j := newMemJournal()
	c := withJournal(t, NewForTest(t), j)
	if err := c.SaveEntity(ctx, &model.Advertiser{ID: "1", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	tries := 0
	_, err := c.UpdateEntity(ctx, model.KindAdvertiser, "1", func(e model.Entity) (model.Entity, error) {
		tries++
		if err := c.DeleteEntity(ctx, model.KindAdvertiser, "1"); err != nil {
			return nil, err
		}
		a := *e.(*model.Advertiser)
		a.Status = model.StatusPaused
		return &a, nil
	})
	if !errors.Is(err, ErrNoEntity) || tries != 1 {
		t.Fatalf("the update after the delete: %v after %d tries; want ErrNoEntity after 1", err, tries)
	}
	if rec, ok := j.get(string(model.KindAdvertiser), "1"); !ok || !rec.Deleted {
		t.Fatalf("the journal's latest record is %q (deleted: %v), not the delete Redis holds", rec.Body, rec.Deleted)
	}
	wipe(t, c)
	d := withJournal(t, c, j)
	if a := d.Catalog().Advertiser("1"); a != nil {
		t.Errorf("the restore brought back the deleted advertiser: %+v", a)
	}
}
