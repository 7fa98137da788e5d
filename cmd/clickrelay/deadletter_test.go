package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// newFlakyReceiver is an affiliate's tracker that answers every request
// with the status it is set to (answerWith), its body naming the status
// and the conversion.
func newFlakyReceiver(t *testing.T, status int) *testkit.Receiver {
	r := testkit.NewReceiver(t)
	answerWith(r, status)
	return r
}

// answerWith sets the status r answers the requests to come with.
func answerWith(r *testkit.Receiver, status int) {
	r.AnswerWith(func(q *testkit.Request) testkit.Answer {
		return testkit.Answer{Status: status, Body: fmt.Sprintf("answer %d for %s", status, q.Query.Get("cv"))}
	})
}

// counts is how many requests r got for conversion cv, and how many of
// them it answered 2xx.
func counts(r *testkit.Receiver, cv string) (hits, landed int) {
	return r.CountQuery("cv", cv), r.CountWhere(func(q testkit.Request) bool {
		return q.Query.Get("cv") == cv && q.Answer.Status < 300
	})
}

// deliveriesAnswer is the admin's GET /v2/postbacks/{id}/deliveries.
type deliveriesAnswer struct {
	Deliveries []struct {
		DeliveryID   string `json:"delivery_id"`
		ConversionID string `json:"conversion_id"`
		ClickID      string `json:"click_id"`
		Event        string `json:"event"`
		Outcome      string `json:"outcome"`
		DeadReason   string `json:"dead_reason"`
		Attempts     []struct {
			Number       int     `json:"number"`
			URL          string  `json:"url"`
			StatusCode   int     `json:"status_code"`
			LatencyMs    float64 `json:"latency_ms"`
			ResponseBody string  `json:"response_body"`
		} `json:"attempts"`
	} `json:"deliveries"`
	Data []struct {
		DeliveryID string `json:"delivery_id"`
		Outcome    string `json:"outcome"`
		Attempts   []struct {
			URL string `json:"url"`
		} `json:"attempts"`
	} `json:"data"`
	Meta struct {
		Total int `json:"total"`
	} `json:"meta"`
}

// deliveryOf finds a conversion's delivery in the admin's listing of a
// postback: its outcome and attempts' status codes.
func (s *stack) deliveryOf(postbackID, conversionID, query string) (outcome string, statuses []int, answer deliveriesAnswer) {
	s.t.Helper()
	if code := s.admin("GET", "/v2/postbacks/"+postbackID+"/deliveries?per_page=100"+query, "", &answer); code != 200 {
		s.t.Fatalf("admin deliveries of %s: %d", postbackID, code)
	}
	for _, d := range answer.Deliveries {
		if d.ConversionID == conversionID {
			for _, a := range d.Attempts {
				statuses = append(statuses, a.StatusCode)
			}
			return d.Outcome, statuses, answer
		}
	}
	return "", nil, answer
}

// waitDelivery polls until a conversion's delivery shows outcome with
// wantAttempts attempts.
func (s *stack) waitDelivery(postbackID, conversionID, outcome string, wantAttempts int) {
	s.t.Helper()
	testkit.Poll(s.t, conversionID+" "+outcome+" with its attempts", stackWait, func() (bool, string) {
		got, statuses, _ := s.deliveryOf(postbackID, conversionID, "")
		return got == outcome && len(statuses) == wantAttempts, fmt.Sprintf("%s %v", got, statuses)
	})
}

func TestDeadLetterRedriveAndAutoDisable(t *testing.T) {
	s := startStack(t, "CLICKRELAY_POSTBACK_MAX_ATTEMPTS=2", "CLICKRELAY_POSTBACK_RETRY_BASE=100ms", "CLICKRELAY_POSTBACK_RETRY_MAX=200ms",
		"CLICKRELAY_POSTBACK_DISABLE_AFTER=3", "CLICKRELAY_POSTBACK_DISABLE_MIN_AGE=0s")
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	receiver := newFlakyReceiver(t, http.StatusServiceUnavailable)
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	var pb struct {
		PostbackID string `json:"postback_id"`
	}
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`,
		receiver.URL+"/pb?cv={conversion_id}&ev={event}&token=s3cret"), &pb); code != 200 {
		t.Fatalf("register postback: %d", code)
	}

	var conv1 string
	t.Run("a receiver failing every request puts the delivery in the dead letter after the configured attempts", func(t *testing.T) {
		conv1 = s.clickAndConvert(n, "DL-1")
		s.waitDelivery(pb.PostbackID, conv1, "dead", 2)
		_, statuses, all := s.deliveryOf(pb.PostbackID, conv1, "&outcome=dead")
		d := all.Deliveries[0]
		if all.Meta.Total != 1 || d.DeliveryID != conv1+":conversion" || d.DeadReason != "attempts_exhausted" || d.ClickID == "" ||
			statuses[0] != 503 || statuses[1] != 503 || d.Attempts[0].Number != 1 || d.Attempts[1].Number != 2 ||
			!strings.Contains(d.Attempts[0].URL, "token=s3cret") || d.Attempts[0].ResponseBody != "answer 503 for "+conv1 {
			t.Fatalf("dead delivery: %+v", all)
		}
		// The owner reads the same, full URL included; another affiliate
		// does not see the postback at all.
		var own deliveriesAnswer
		if code := s.call("GET", "/v1/postbacks/"+pb.PostbackID+"/deliveries?outcome=dead", affiliate, "", &own); code != 200 ||
			len(own.Data) != 1 || own.Data[0].Outcome != "dead" || len(own.Data[0].Attempts) != 2 ||
			!strings.Contains(own.Data[0].Attempts[0].URL, "token=s3cret") {
			t.Fatalf("affiliate's deliveries: %d %+v", code, own)
		}
		other := s.createAffiliate(`{"name":"Other Media"}`)
		if code := s.call("GET", "/v1/postbacks/"+pb.PostbackID+"/deliveries", other.auth(), "", nil); code != 404 {
			t.Fatalf("another affiliate's read: %d, want 404", code)
		}
		if got := s.metric("clickrelay_postback_dead_lettered_total"); got != 1 {
			t.Fatalf("clickrelay_postback_dead_lettered_total = %v, want 1", got)
		}
	})

	t.Run("re-driven after the receiver recovers, it lands exactly once", func(t *testing.T) {
		answerWith(receiver, http.StatusOK)
		var r struct {
			Redriven int `json:"redriven"`
		}
		body := fmt.Sprintf(`{"delivery_id":%q}`, conv1+":conversion")
		if code := s.call("POST", "/v1/postbacks/"+pb.PostbackID+"/redrive", affiliate, body, &r); code != 200 || r.Redriven != 1 {
			t.Fatalf("re-drive: %d %+v", code, r)
		}
		// A re-drive's attempts number on from the last one.
		s.waitDelivery(pb.PostbackID, conv1, "delivered", 3)
		if code := s.admin("POST", "/v2/postbacks/"+pb.PostbackID+"/redrive", body, &r); code != 200 || r.Redriven != 0 {
			t.Fatalf("second re-drive: %d %+v; want nothing queued", code, r)
		}
		if hits, landed := counts(receiver, conv1); hits != 3 || landed != 1 {
			t.Fatalf("receiver got %d requests for %s, %d answered 200; want 3 and 1", hits, conv1, landed)
		}
		if got := s.metric("clickrelay_postback_redriven_total"); got != 1 {
			t.Fatalf("clickrelay_postback_redriven_total = %v, want 1", got)
		}
	})

	t.Run("bad re-drive requests get the surface's envelope", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"delivery_id":"nocolon"}`, `{"from":"yesterday","to":"today"}`,
			`{"from":"2026-01-01T00:00:00Z","to":"2026-12-01T00:00:00Z"}`, `[1]`} {
			if code := s.call("POST", "/v1/postbacks/"+pb.PostbackID+"/redrive", affiliate, body, nil); code != 400 {
				t.Errorf("re-drive %s: %d, want 400", body, code)
			}
		}
		if code := s.admin("GET", "/v2/postbacks/"+pb.PostbackID+"/deliveries?outcome=lost", "", nil); code != 400 {
			t.Errorf("outcome=lost: %d, want 400", code)
		}
	})

	t.Run("the dead letter survives a restart, and a time range re-drives what died in it", func(t *testing.T) {
		answerWith(receiver, http.StatusBadGateway)
		start := time.Now().UTC().Add(-time.Second)
		conv2, conv3 := s.clickAndConvert(n, "DL-2"), s.clickAndConvert(n, "DL-3")
		s.waitDelivery(pb.PostbackID, conv2, "dead", 2)
		s.waitDelivery(pb.PostbackID, conv3, "dead", 2)
		s.restartSameEngines()
		if outcome, _, _ := s.deliveryOf(pb.PostbackID, conv2, ""); outcome != "dead" {
			t.Fatalf("after a restart %s is %q, want dead", conv2, outcome)
		}
		answerWith(receiver, http.StatusOK)
		var r struct {
			Redriven  int `json:"redriven"`
			Remaining int `json:"remaining"`
		}
		body := fmt.Sprintf(`{"from":%q,"to":%q}`, start.Format(time.RFC3339), time.Now().UTC().Add(time.Minute).Format(time.RFC3339))
		if code := s.admin("POST", "/v2/postbacks/"+pb.PostbackID+"/redrive", body, &r); code != 200 || r.Redriven != 2 || r.Remaining != 0 {
			t.Fatalf("range re-drive: %d %+v; want 2", code, r)
		}
		s.waitDelivery(pb.PostbackID, conv2, "delivered", 3)
		s.waitDelivery(pb.PostbackID, conv3, "delivered", 3)
		for _, cv := range []string{conv1, conv2, conv3} {
			if _, landed := counts(receiver, cv); landed != 1 {
				t.Errorf("%s landed %d times, want once", cv, landed)
			}
		}
	})

	t.Run("a postback that keeps failing is disabled, keeps its deliveries, and is re-enabled with a re-drive", func(t *testing.T) {
		// A second affiliate, so the first one's run of failures is not
		// this one's.
		aff2 := s.createAffiliate(`{"name":"Failing Media"}`)
		n2 := n
		n2.affiliateID, n2.affiliateKey = aff2.ID, aff2.APIKey
		gone := newFlakyReceiver(t, http.StatusNotFound) // permanent: one attempt each
		var pb2 struct {
			PostbackID string `json:"postback_id"`
		}
		if code := s.call("POST", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + n2.affiliateKey},
			fmt.Sprintf(`{"url":%q}`, gone.URL+"/pb?cv={conversion_id}"), &pb2); code != 200 {
			t.Fatalf("register postback: %d", code)
		}
		var convs []string
		for i := range 3 {
			cv := s.clickAndConvert(n2, fmt.Sprintf("AD-%d", i))
			convs = append(convs, cv)
			s.waitDelivery(pb2.PostbackID, cv, "dead", 1)
		}
		var got struct {
			Postback struct {
				Status         string `json:"status"`
				DisabledAt     string `json:"disabled_at"`
				DisabledReason string `json:"disabled_reason"`
				AffiliateID    string `json:"affiliate_id"`
			} `json:"postback"`
		}
		testkit.Poll(t, "the postback disabled", stackWait, func() (bool, string) {
			s.admin("GET", "/v2/postbacks/"+pb2.PostbackID, "", &got)
			return got.Postback.Status == "disabled", fmt.Sprintf("%+v", got)
		})
		if got.Postback.DisabledAt == "" || !strings.Contains(got.Postback.DisabledReason, "3 consecutive failed deliveries") ||
			got.Postback.AffiliateID != n2.affiliateID {
			t.Fatalf("disabled postback: %+v", got)
		}
		if m := s.metric("clickrelay_postbacks_disabled_total"); m != 1 {
			t.Fatalf("clickrelay_postbacks_disabled_total = %v, want 1", m)
		}
		var list struct {
			Postbacks []struct {
				PostbackID string `json:"postback_id"`
			} `json:"postbacks"`
		}
		if code := s.admin("GET", "/v2/postbacks?status=disabled", "", &list); code != 200 || len(list.Postbacks) != 1 || list.Postbacks[0].PostbackID != pb2.PostbackID {
			t.Fatalf("disabled postbacks: %d %+v", code, list)
		}

		// The receiver is back, but the postback is off: a new conversion
		// is kept in the dead letter, not sent.
		answerWith(gone, http.StatusOK)
		kept := s.clickAndConvert(n2, "AD-kept")
		var dead deliveriesAnswer
		testkit.Poll(t, "the new conversion kept", stackWait, func() (bool, string) {
			dead = deliveriesAnswer{}
			s.admin("GET", "/v2/postbacks/"+pb2.PostbackID+"/deliveries?outcome=dead", "", &dead)
			for _, d := range dead.Deliveries {
				if d.ConversionID == kept {
					return d.DeadReason == "postback_disabled" && len(d.Attempts) == 0, fmt.Sprintf("%+v", d)
				}
			}
			return false, fmt.Sprintf("%+v", dead)
		})
		if hits, _ := counts(gone, kept); hits != 0 {
			t.Fatalf("a disabled postback was sent %d times", hits)
		}

		var on struct {
			Postback struct {
				Status string `json:"status"`
			} `json:"postback"`
			Redriven int `json:"redriven"`
		}
		if code := s.call("POST", "/v1/postbacks/"+pb2.PostbackID+"/enable", map[string]string{"Authorization": "Bearer " + n2.affiliateKey},
			`{"redrive":true}`, &on); code != 200 || on.Postback.Status != "active" || on.Redriven != 4 {
			t.Fatalf("enable: %d %+v; want active and 4 re-driven", code, on)
		}
		s.waitDelivery(pb2.PostbackID, kept, "delivered", 1)
		for _, cv := range convs {
			s.waitDelivery(pb2.PostbackID, cv, "delivered", 2)
		}
		for _, cv := range append(convs, kept) {
			if _, landed := counts(gone, cv); landed != 1 {
				t.Errorf("%s landed %d times, want once", cv, landed)
			}
		}
	})
}
