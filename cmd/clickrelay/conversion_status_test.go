package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testenv"
	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// statusAdminAnswer is the admin API's answer to a status change.
type statusAdminAnswer struct {
	Success    bool `json:"success"`
	Conversion struct {
		ID             string  `json:"id"`
		Version        int     `json:"version"`
		Status         string  `json:"status"`
		PreviousStatus string  `json:"previous_status"`
		Payout         float64 `json:"payout"`
	} `json:"conversion"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// statusSeed002Answer is the advertiser API's answer.
type statusSeed002Answer struct {
	Success bool `json:"success"`
	Data    struct {
		ID                    string `json:"id"`
		OfferCode             string `json:"offerCode"`
		VendorTxID            string `json:"vendorTxId"`
		Status                string `json:"status"`
		AdvertiserPayoutCents int    `json:"advertiserPayoutCents"`
		CreatedAt             int64  `json:"createdAt"`
	} `json:"data"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// clickAndConvert makes a click and a conversion on it; it returns the conversion's ID.
func (s *stack) clickAndConvert(n network, txid string) string {
	s.t.Helper()
	_, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
	cid := clickID(s.t, location, "cid")
	var conv struct {
		Data struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	if code := s.call("POST", "/api/v1/conversions", map[string]string{"X-API-Key": n.advertiserKey},
		fmt.Sprintf(`{"click_id":%q,"txid":%q}`, cid, txid), &conv); code != 200 || !conv.Data.Tracked {
		s.t.Fatalf("conversion: %d %+v", code, conv)
	}
	return conv.Data.ConversionID
}

// restartSameEngines stops clickrelay with SIGTERM and starts it again on the same
// Redis prefix, ClickHouse database and broker port.
func (s *stack) restartSameEngines() {
	s.t.Helper()
	s.terminate()
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.Env, cmd.Stderr = s.cmd.Env, s.stderr
	s.cmd = cmd
	s.start()
}

// nextPostback waits for the receiver's postback after the seen ones it
// has seen, and counts it seen.
func nextPostback(t *testing.T, r *testkit.Receiver, seen *int) testkit.Request {
	t.Helper()
	*seen++
	return r.Await(t, *seen, 15*time.Second)
}

func TestConversionStatusChanges(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	receiver := newReceiver(t)
	seen := 0 // postbacks the test has looked at
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey}
	for _, event := range []string{"approved", "rejected"} {
		var pb struct {
			PostbackID string `json:"postback_id"`
		}
		url := receiver.URL + "/pb?e=" + event + "&st={status}&conv={conversion_id}&payout={payout}"
		if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q,"event":%q}`, url, event), &pb); code != 200 {
			t.Fatalf("register the %s postback: %d", event, code)
		}
	}
	var other struct {
		Advertiser struct {
			APIKey string `json:"api_key"`
		} `json:"advertiser"`
	}
	if code := s.admin("POST", "/v2/advertisers", `{"name":"Globex"}`, &other); code != 201 {
		t.Fatalf("second advertiser: %d", code)
	}
	today := time.Now().UTC().Format("2006-01-02")
	// stats answers the affiliate's totals for today.
	stats := func() (conversions, approved int, revenue float64) {
		var out struct {
			Data []struct {
				Conversions int     `json:"conversions"`
				Approved    int     `json:"approved"`
				Revenue     float64 `json:"revenue"`
			} `json:"data"`
		}
		if code := s.call("GET", "/v1/stats?date_from="+today+"&date_to="+today, affiliate, "", &out); code != 200 || len(out.Data) != 1 {
			t.Fatalf("stats: %d %+v", code, out)
		}
		return out.Data[0].Conversions, out.Data[0].Approved, out.Data[0].Revenue
	}
	expectHit := func(t *testing.T, event, conv string) {
		t.Helper()
		h := nextPostback(t, receiver, &seen)
		if h.Query.Get("e") != event || h.Query.Get("st") != event || h.Query.Get("conv") != conv || h.Query.Get("payout") != "2.5" {
			t.Fatalf("postback %v; want the %s postback of %s with {status}=%s", h.Query, event, conv, event)
		}
	}

	conv := s.clickAndConvert(n, "ORDER-1")

	t.Run("admin approves: one postback, stats count it", func(t *testing.T) {
		// At once: the conversion may not be in ClickHouse yet, and is waited for.
		var a statusAdminAnswer
		if code := s.admin("PATCH", "/v2/conversions/"+conv, `{"status":"approved"}`, &a); code != 200 || !a.Success ||
			a.Conversion.ID != conv || a.Conversion.Status != "approved" || a.Conversion.PreviousStatus != "pending" ||
			a.Conversion.Version != 2 || a.Conversion.Payout != 2.5 {
			t.Fatalf("approve: %d %+v", code, a)
		}
		expectHit(t, "approved", conv)
		// Again: harmless, the same version answered.
		if code := s.admin("PATCH", "/v2/conversions/"+conv, `{"status":"approved"}`, &a); code != 200 || a.Conversion.Version != 2 || a.Conversion.Status != "approved" {
			t.Fatalf("approve again: %d %+v", code, a)
		}
		testkit.Settle(t, "stats after approval", stackWait, func() string {
			if c, ap, rev := stats(); c != 1 || ap != 1 || rev != 2.5 {
				return fmt.Sprintf("conversions=%d approved=%d revenue=%v", c, ap, rev)
			}
			return ""
		})
	})

	t.Run("refusals in each surface's envelope", func(t *testing.T) {
		cases := []struct {
			name, path string
			headers    map[string]string
			body       string
			status     int
			code       string
		}{
			{"admin bad status", "/v2/conversions/" + conv, map[string]string{"X-Api-Key": s.adminKey}, `{"status":"paid"}`, 400, "invalid_status"},
			{"admin unknown id", "/v2/conversions/conv_nope", map[string]string{"X-Api-Key": s.adminKey}, `{"status":"approved"}`, 404, "not_found"},
			{"advertiser bad status", "/api/v1/conversions/" + conv, advertiser, `{"status":"paid"}`, 400, "VALIDATION_ERROR"},
			{"advertiser unknown id", "/api/v1/conversions/conv_nope", advertiser, `{"status":"approved"}`, 404, "NOT_FOUND"},
			{"another advertiser's", "/api/v1/conversions/" + conv, map[string]string{"X-API-Key": other.Advertiser.APIKey}, `{"status":"rejected"}`, 404, "NOT_FOUND"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var e statusSeed002Answer
				if code := s.call("PATCH", c.path, c.headers, c.body, &e); code != c.status || e.Success || e.Error.Code != c.code {
					t.Fatalf("%d %+v; want %d %s", code, e, c.status, c.code)
				}
			})
		}
	})

	t.Run("advertiser rejects its own: rejected postback, payout gone", func(t *testing.T) {
		var a statusSeed002Answer
		if code := s.call("PATCH", "/api/v1/conversions/"+conv, advertiser, `{"status":"rejected"}`, &a); code != 200 || !a.Success ||
			a.Data.ID != conv || a.Data.Status != "rejected" || a.Data.VendorTxID != "ORDER-1" || a.Data.AdvertiserPayoutCents != 250 ||
			!strings.HasPrefix(a.Data.OfferCode, "ofr_") || a.Data.CreatedAt == 0 {
			t.Fatalf("reject: %d %+v", code, a)
		}
		// A duplicate approved postback would have been queued before this one.
		expectHit(t, "rejected", conv)
		testkit.Settle(t, "stats after rejection", stackWait, func() string {
			if c, ap, rev := stats(); c != 1 || ap != 0 || rev != 0 {
				return fmt.Sprintf("conversions=%d approved=%d revenue=%v", c, ap, rev)
			}
			return ""
		})
	})

	t.Run("the report shows both postbacks", func(t *testing.T) {
		testkit.Settle(t, "report", stackWait, func() string {
			var report struct {
				Pixels []struct {
					ConversionID string `json:"conversion_id"`
					PixelType    string `json:"pixel_type"`
					IsSuccess    bool   `json:"is_success"`
					Payload      string `json:"payload"`
				} `json:"pixels"`
			}
			if code := s.call("POST", "/v1/networks/reporting/affiliate/pixels", map[string]string{"X-Eflow-API-Key": s.adminKey},
				fmt.Sprintf(`{"timezone_id":67,"from":%q,"to":%q}`, today, today), &report); code != 200 {
				t.Fatalf("report: %d", code)
			}
			types := map[string]int{}
			for _, p := range report.Pixels {
				if p.ConversionID == conv && p.IsSuccess && strings.Contains(p.Payload, "st="+p.PixelType) {
					types[p.PixelType]++
				}
			}
			if len(report.Pixels) != 2 || types["approved"] != 1 || types["rejected"] != 1 {
				return fmt.Sprintf("%+v", report.Pixels)
			}
			return ""
		})
	})

	t.Run("ten concurrent approvals make one version and one postback", func(t *testing.T) {
		conv2 := s.clickAndConvert(n, "ORDER-2")
		var wg sync.WaitGroup
		answers := make([]statusAdminAnswer, 10)
		codes := make([]int, 10)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = s.admin("PATCH", "/v2/conversions/"+conv2, `{"status":"approved"}`, &answers[i])
			}()
		}
		wg.Wait()
		for i, a := range answers {
			if codes[i] != 200 || a.Conversion.Version != 2 || a.Conversion.Status != "approved" {
				t.Fatalf("caller %d: %d %+v", i, codes[i], a)
			}
		}
		expectHit(t, "approved", conv2)
		// The marker: had a second version fired, its postback would come first.
		if code := s.admin("PATCH", "/v2/conversions/"+conv2, `{"status":"reversed"}`, nil); code != 200 {
			t.Fatalf("reverse: %d", code)
		}
		h := nextPostback(t, receiver, &seen)
		if h.Query.Get("e") != "rejected" || h.Query.Get("st") != "reversed" || h.Query.Get("conv") != conv2 {
			t.Fatalf("after the concurrent approvals: %v; want the rejected postback with {status}=reversed", h.Query)
		}
		testkit.Settle(t, "versions in ClickHouse", stackWait, func() string {
			rows, err := s.ch.Count(context.Background(), "SELECT count() FROM "+s.ch.Table("conversions")+" WHERE conversion_id = '"+conv2+"'")
			if err != nil {
				t.Fatal(err)
			}
			if rows != 3 {
				return fmt.Sprintf("%d rows (want versions 1, 2, 3)", rows)
			}
			return ""
		})
	})

	t.Run("a change survives a restart; Redis state reseeds from ClickHouse", func(t *testing.T) {
		s.restartSameEngines()
		client := redis.ClientForTest(t, testenv.RedisURL(t))
		if err := client.Del(context.Background(), s.envValue("CLICKRELAY_REDIS_PREFIX")+"convstatus:"+conv).Err(); err != nil {
			t.Fatal(err)
		}
		var a statusAdminAnswer
		if code := s.admin("PATCH", "/v2/conversions/"+conv, `{"status":"rejected"}`, &a); code != 200 || a.Conversion.Version != 3 || a.Conversion.Status != "rejected" {
			t.Fatalf("rejected again after the restart: %d %+v; want version 3 unchanged", code, a)
		}
		if code := s.admin("PATCH", "/v2/conversions/"+conv, `{"status":"approved"}`, &a); code != 200 || a.Conversion.Version != 4 || a.Conversion.PreviousStatus != "rejected" {
			t.Fatalf("approve after the restart: %d %+v; want version 4", code, a)
		}
		testkit.Settle(t, "stats after re-approval", stackWait, func() string {
			// conv approved again; conv2 reversed.
			if c, ap, rev := stats(); c != 2 || ap != 1 || rev != 2.5 {
				return fmt.Sprintf("conversions=%d approved=%d revenue=%v", c, ap, rev)
			}
			return ""
		})
	})
}
