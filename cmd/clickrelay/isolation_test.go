package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// newCountingReceiver is an affiliate's tracker serving on ln (a loopback
// listener). One that holds answers every request only once the test
// releases it, as a receiver that hangs does.
func newCountingReceiver(t *testing.T, ln net.Listener, holding bool) *testkit.Receiver {
	options := []testkit.ReceiverOption{testkit.Listener(ln), testkit.Default(testkit.Answer{Body: "OK"})}
	if holding {
		options = append(options, testkit.Held())
	}
	return testkit.NewReceiver(t, options...)
}

// unreceived lists the click IDs of want r has not received yet, and those
// it received more than once.
func unreceived(r *testkit.Receiver, want []string) (missing, doubled []string) {
	for _, cid := range want {
		switch n := r.CountQuery("cid", cid); {
		case n == 0:
			missing = append(missing, cid)
		case n > 1:
			doubled = append(doubled, cid)
		}
	}
	return missing, doubled
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestReceiverHostsAreIsolated runs a network whose postback worker has 4
// request slots in all and 2 per receiver host. One affiliate's receiver
// holds every request: before isolation per host, its postbacks took every
// slot and the other affiliate's postbacks waited for it. Then a receiver
// that refuses connections is backed off as a whole and delivered to once
// it listens.
func TestReceiverHostsAreIsolated(t *testing.T) {
	s := startStack(t,
		"CLICKRELAY_POSTBACK_CONCURRENCY=4",
		"CLICKRELAY_POSTBACK_HOST_CONCURRENCY=2",
		// Held requests stay held for the whole test: none times out and
		// is retried, so each receiver must see each postback once.
		"CLICKRELAY_POSTBACK_TIMEOUT=2m",
		"CLICKRELAY_POSTBACK_RETRY_BASE=100ms",
		// The refusing receiver's outage lasts as long as the machine takes
		// to notice the backoff: short retries and many attempts, so no
		// postback runs out of attempts (into the dead letter) meanwhile.
		"CLICKRELAY_POSTBACK_RETRY_MAX=500ms",
		"CLICKRELAY_POSTBACK_MAX_ATTEMPTS=50",
		"CLICKRELAY_POSTBACK_HOST_FAILURES=2",
		"CLICKRELAY_POSTBACK_HOST_BACKOFF=200ms",
		"CLICKRELAY_POSTBACK_HOST_BACKOFF_MAX=1s",
	)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}

	// newAffiliate creates an affiliate whose postback goes to receiverURL.
	newAffiliate := func(name, receiverURL string) string {
		aff := s.createAffiliate(fmt.Sprintf(`{"name":%q,"tier":"premium"}`, name))
		if code := s.call("POST", "/v1/postbacks", aff.auth(), fmt.Sprintf(`{"url":%q}`, receiverURL+"/pb?cid={click_id}&token=secret-token"), nil); code != 200 {
			t.Fatalf("create %s's postback: %d", name, code)
		}
		return aff.ID
	}
	// convert clicks count times as affiliate and converts each click.
	convert := func(affiliate string, count int) []string {
		var cids []string
		for range count {
			status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, affiliate))
			if status != 302 {
				t.Fatalf("click: %d", status)
			}
			cid := clickID(t, location, "cid")
			body := fmt.Sprintf(`{"click_id":%q,"amount":"10","txid":"iso-%s"}`, cid, cid)
			if code := s.call("POST", "/api/v1/conversions", advertiser, body, nil); code != 200 {
				t.Fatalf("conversion: %d", code)
			}
			cids = append(cids, cid)
		}
		return cids
	}
	delivered := func() float64 { return s.metric(`clickrelay_postbacks_total{result="delivered"}`) }

	t.Run("a hanging receiver does not hold the others' postbacks", func(t *testing.T) {
		hanging := newCountingReceiver(t, listenLoopback(t), true)
		healthy := newCountingReceiver(t, listenLoopback(t), false)
		slowAff := newAffiliate("Slow Media", hanging.URL)
		fastAff := newAffiliate("Fast Media", healthy.URL)

		// The hanging receiver's postbacks first: without a bound per host
		// they would take all 4 slots.
		held := convert(slowAff, 6)
		testkit.Poll(t, "the hanging receiver holding requests", 30*time.Second, func() (bool, string) {
			return hanging.Count() >= 2, fmt.Sprintf("%d held", hanging.Count())
		})
		healthyCIDs := convert(fastAff, 6)
		testkit.Settle(t, "every healthy postback while the other receiver hangs", stackWait, func() string {
			if missing, _ := unreceived(healthy, healthyCIDs); len(missing) > 0 {
				return fmt.Sprintf("%d of %d healthy postbacks missing", len(missing), len(healthyCIDs))
			}
			return ""
		})
		if got := hanging.Count(); got != 2 {
			t.Errorf("the hanging receiver got %d requests at once, want its bound, 2", got)
		}
		if busy := s.metric(`clickrelay_postback_deferred_total{reason="host_busy"}`); busy < 1 {
			t.Errorf("no postback deferred as host_busy (%v)", busy)
		}

		// Released, the receiver gets every postback held or deferred,
		// each once, and none used up an attempt waiting.
		hanging.Release()
		testkit.Settle(t, "every held or deferred postback delivered", stackWait, func() string {
			missing, doubled := unreceived(hanging, held)
			if len(missing) > 0 || delivered() < 12 {
				return fmt.Sprintf("%d missing, %v delivered", len(missing), delivered())
			}
			if len(doubled) > 0 {
				return fmt.Sprintf("doubled %v", doubled)
			}
			return ""
		})
		for name, r := range map[string]*testkit.Receiver{"hanging": hanging, "healthy": healthy} {
			if _, doubled := unreceived(r, append(held, healthyCIDs...)); len(doubled) > 0 {
				t.Errorf("the %s receiver got %v more than once", name, doubled)
			}
		}
		if got := delivered(); got != 12 {
			t.Errorf("clickrelay_postbacks_total{result=\"delivered\"} = %v, want 12", got)
		}
		if got := s.metric(`clickrelay_postbacks_total{result="retry_scheduled"}`); got != 0 {
			t.Errorf("deferred postbacks used up attempts: %v retries scheduled", got)
		}
	})

	t.Run("a receiver refusing connections is backed off, then delivered to", func(t *testing.T) {
		// A port nothing listens on, until the receiver starts below.
		closed := listenLoopback(t)
		addr := closed.Addr().String()
		closed.Close()
		downAff := newAffiliate("Down Media", "http://"+addr)
		before := delivered()
		cids := convert(downAff, 3)
		testkit.Poll(t, "the refusing host backed off", 30*time.Second, func() (bool, string) {
			hosts, deferred := s.metric("clickrelay_postback_hosts_backed_off"), s.metric(`clickrelay_postback_deferred_total{reason="host_backoff"}`)
			return hosts == 1 && deferred > 0, fmt.Sprintf("%v hosts backed off, %v postbacks deferred for it", hosts, deferred)
		})
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the port %s was taken meanwhile: %v", addr, err)
		}
		up := newCountingReceiver(t, ln, false)
		testkit.Settle(t, "the backed-off host's postbacks delivered after it came back", stackWait, func() string {
			missing, doubled := unreceived(up, cids)
			switch {
			case len(missing) > 0:
				return fmt.Sprintf("%d missing (backed off %v, deferred %v/%v, retry queue %v, delivered %v, retries %v, dead %v)", len(missing),
					s.metric("clickrelay_postback_hosts_backed_off"), s.metric(`clickrelay_postback_deferred_total{reason="host_busy"}`),
					s.metric(`clickrelay_postback_deferred_total{reason="host_backoff"}`), s.metric("clickrelay_postback_retry_queue"),
					delivered()-before, s.metric(`clickrelay_postbacks_total{result="retry_scheduled"}`), s.metric("clickrelay_postback_dead_lettered_total"))
			case len(doubled) > 0:
				return fmt.Sprintf("doubled %v", doubled)
			case s.metric("clickrelay_postback_hosts_backed_off") != 0:
				return "the host is still backed off"
			case delivered() != before+3:
				return fmt.Sprintf("delivered %v, want %v", delivered(), before+3)
			}
			return ""
		})
		// The log names the host, never the postback's query.
		log := s.stderr.String()
		if !strings.Contains(log, addr) {
			t.Errorf("the log does not name the backed-off host %s", addr)
		}
		if strings.Contains(log, "secret-token") {
			t.Errorf("the log shows a postback URL's query")
		}
	})
}
