package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// newSigningReceiver is an affiliate's tracker that keeps every request.
func newSigningReceiver(t *testing.T) *testkit.Receiver {
	return testkit.NewReceiver(t, testkit.Default(testkit.Answer{Body: "OK from the receiver"}))
}

// signingWait bounds the wait for a signed postback.
const signingWait = 20 * time.Second

// The signature headers of a postback as a receiver got it.
func timestampOf(h testkit.Request) string { return h.Header.Get("X-Clickrelay-Timestamp") }
func signatureOf(h testkit.Request) string { return h.Header.Get("X-Clickrelay-Signature") }

// verify checks a hit's signature the way the README tells a receiver to,
// with the standard library only: HMAC-SHA256 keyed with the secret over
// "GET\n" + URL + "\n" + timestamp, and a timestamp within 5 minutes.
func verify(secret string, h testkit.Request) error {
	timestamp, signature := timestampOf(h), signatureOf(h)
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", timestamp, err)
	}
	if age := time.Since(time.Unix(ts, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return fmt.Errorf("timestamp %d is %v old", ts, age)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("GET\n" + h.URL + "\n" + timestamp))
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(signature), []byte(want)) {
		return fmt.Errorf("signature %q, want %q", signature, want)
	}
	return nil
}

// sale clicks the offer as the network's affiliate and reports a sale.
func (s *stack) sale(t *testing.T, n network, txid string) string {
	t.Helper()
	_, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=s1-%s", n.offerID, n.affiliateID, txid))
	cid := clickID(t, location, "cid")
	s.convert(n.advertiserKey, cid, txid)
	return cid
}

type postbackAnswer struct {
	PostbackID    string `json:"postback_id"`
	Signed        bool   `json:"signed"`
	SigningSecret string `json:"signing_secret"`
}

type testAnswer struct {
	URL          string  `json:"url"`
	Signed       bool    `json:"signed"`
	StatusCode   int     `json:"status_code"`
	LatencyMS    float64 `json:"latency_ms"`
	ResponseBody string  `json:"response_body"`
	Error        *string `json:"error"`
	Delivered    bool    `json:"delivered"`
}

func TestSignedPostbacksAndTests(t *testing.T) {
	// Debug logs: the secrets must be in none of the process's lines.
	s := startStack(t, "CLICKRELAY_LOG_LEVEL=debug")
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	signedRecv, plainRecv, testRecv := newSigningReceiver(t), newSigningReceiver(t), newSigningReceiver(t)
	const token = "tok-never-in-logs-7f3a"
	var secrets []string // every secret shown, for the leak checks

	var signed, plain postbackAnswer
	var rotated struct {
		PostbackID    string `json:"postback_id"`
		SigningSecret string `json:"signing_secret"`
	}
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q,"signed":true}`,
		signedRecv.URL+"/pb?cid={click_id}&payout={payout}&s1={sub1}&token="+token), &signed); code != 200 ||
		!signed.Signed || !strings.HasPrefix(signed.SigningSecret, "whsec_") || len(signed.SigningSecret) != 70 {
		t.Fatalf("create signed postback: %d %+v", code, signed)
	}
	secrets = append(secrets, signed.SigningSecret)
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`, plainRecv.URL+"/plain?cid={click_id}"), &plain); code != 200 ||
		plain.Signed || plain.SigningSecret != "" {
		t.Fatalf("create unsigned postback: %d %+v", code, plain)
	}

	t.Run("a signed postback verifies; an unsigned one carries no signature", func(t *testing.T) {
		cid := s.sale(t, n, "ORDER-S1")
		h := signedRecv.Await(t, 1, signingWait)
		if err := verify(signed.SigningSecret, h); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(h.URL, "cid="+cid) || !strings.Contains(h.URL, "token="+token) {
			t.Fatalf("signed URL %q", h.URL)
		}
		if p := plainRecv.Await(t, 1, signingWait); signatureOf(p) != "" || timestampOf(p) != "" {
			t.Fatalf("an unsigned postback carried %+v", p)
		}
	})

	t.Run("rotating a postback's secret changes the signature at once", func(t *testing.T) {
		if code := s.call("POST", "/v1/postbacks/"+signed.PostbackID+"/signing-secret", affiliate, "", &rotated); code != 200 ||
			rotated.PostbackID != signed.PostbackID || !strings.HasPrefix(rotated.SigningSecret, "whsec_") || rotated.SigningSecret == signed.SigningSecret {
			t.Fatalf("rotate: %d %+v", code, rotated)
		}
		secrets = append(secrets, rotated.SigningSecret)
		s.sale(t, n, "ORDER-S2")
		h := signedRecv.Await(t, 2, signingWait)
		if err := verify(rotated.SigningSecret, h); err != nil {
			t.Fatalf("with the new secret: %v", err)
		}
		if verify(signed.SigningSecret, h) == nil {
			t.Fatal("the old secret still verifies")
		}
		plainRecv.Await(t, 2, signingWait)
	})

	t.Run("an affiliate-wide secret signs postbacks without their own", func(t *testing.T) {
		var aff struct {
			AffiliateID   string `json:"affiliate_id"`
			SigningSecret string `json:"signing_secret"`
		}
		if code := s.call("POST", "/v1/signing-secret", affiliate, "", &aff); code != 200 || aff.AffiliateID != n.affiliateID || !strings.HasPrefix(aff.SigningSecret, "whsec_") {
			t.Fatalf("affiliate secret: %d %+v", code, aff)
		}
		var adminAff struct {
			Success       bool   `json:"success"`
			AffiliateID   string `json:"affiliate_id"`
			SigningSecret string `json:"signing_secret"`
		}
		if code := s.admin("POST", "/v2/affiliates/"+n.affiliateID+"/signing-secret", "", &adminAff); code != 200 || !adminAff.Success ||
			adminAff.SigningSecret == aff.SigningSecret || !strings.HasPrefix(adminAff.SigningSecret, "whsec_") {
			t.Fatalf("admin rotates the affiliate's secret: %d %+v", code, adminAff)
		}
		secrets = append(secrets, aff.SigningSecret, adminAff.SigningSecret)
		s.sale(t, n, "ORDER-S3")
		if err := verify(adminAff.SigningSecret, plainRecv.Await(t, 3, signingWait)); err != nil {
			t.Fatalf("the unsigned postback, now under the affiliate's secret: %v", err)
		}
		if err := verify(rotated.SigningSecret, signedRecv.Await(t, 3, signingWait)); err != nil {
			t.Fatalf("the postback's own secret takes precedence: %v", err)
		}
		var view struct {
			Signed bool `json:"signed"`
		}
		if code := s.call("DELETE", "/v1/postbacks/"+signed.PostbackID+"/signing-secret", affiliate, "", &view); code != 200 || !view.Signed {
			t.Fatalf("removing the postback's own secret leaves it signed by the affiliate's: %d %+v", code, view)
		}
		s.sale(t, n, "ORDER-S4")
		if err := verify(adminAff.SigningSecret, signedRecv.Await(t, 4, signingWait)); err != nil {
			t.Fatalf("after its own secret was removed: %v", err)
		}
		plainRecv.Await(t, 4, signingWait)

		var cleared struct {
			Success   bool `json:"success"`
			Affiliate struct {
				Signed bool `json:"signed"`
			} `json:"affiliate"`
		}
		if code := s.admin("DELETE", "/v2/affiliates/"+n.affiliateID+"/signing-secret", "", &cleared); code != 200 || !cleared.Success || cleared.Affiliate.Signed {
			t.Fatalf("admin removes the affiliate's secret: %d %+v", code, cleared)
		}
		s.sale(t, n, "ORDER-S5")
		if h := plainRecv.Await(t, 5, signingWait); signatureOf(h) != "" {
			t.Fatalf("unsigned again, yet %+v", h)
		}
		if h := signedRecv.Await(t, 5, signingWait); signatureOf(h) != "" {
			t.Fatalf("unsigned again, yet %+v", h)
		}
		// Signed once more for what follows, through the affiliate's own route.
		if code := s.call("POST", "/v1/postbacks/"+signed.PostbackID+"/signing-secret", affiliate, "", &signed); code != 200 {
			t.Fatalf("rotate: %d", code)
		}
		secrets = append(secrets, signed.SigningSecret)
		var none struct {
			Signed bool `json:"signed"`
		}
		if code := s.call("DELETE", "/v1/signing-secret", affiliate, "", &none); code != 200 || none.Signed {
			t.Fatalf("affiliate removes its secret: %d", code)
		}
	})

	t.Run("test a postback", func(t *testing.T) {
		// 5 conversions, 2 postbacks each, all delivered by now.
		testkit.Poll(t, "the deliveries counted", stackWait, func() (bool, string) {
			v := s.metric(`clickrelay_postbacks_total{result="delivered"}`)
			return v == 10, fmt.Sprint(v)
		})
		var pb postbackAnswer
		if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q,"signed":true,"event":"approved"}`,
			testRecv.URL+"/t?cid={click_id}&payout={payout}&s={sub1},{sub5}&ev={event}&st={status}&ts={timestamp}&token="+token), &pb); code != 200 {
			t.Fatalf("create: %d", code)
		}
		secrets = append(secrets, pb.SigningSecret)
		var got testAnswer
		if code := s.call("POST", "/v1/postbacks/"+pb.PostbackID+"/test", affiliate, "", &got); code != 200 {
			t.Fatalf("test: %d", code)
		}
		if testRecv.Count() != 1 {
			t.Fatalf("the receiver got %d requests, want 1", testRecv.Count())
		}
		h := testRecv.Await(t, 1, signingWait)
		if got.URL != h.URL || !got.Signed || got.StatusCode != 200 || !got.Delivered || got.ResponseBody != "OK from the receiver" ||
			got.Error != nil || got.LatencyMS <= 0 {
			t.Fatalf("test answer %+v; the receiver got %q", got, h.URL)
		}
		if err := verify(pb.SigningSecret, h); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"cid=test_", "payout=1", "s=sub1,sub5", "ev=approved", "st=approved", "ts=" + strconv.FormatInt(time.Now().Unix(), 10)[:5]} {
			if !strings.Contains(h.URL, want) {
				t.Errorf("test URL %q lacks %q", h.URL, want)
			}
		}

		// The admin tests any postback; an affiliate tests only its own.
		var adminGot testAnswer
		if code := s.admin("POST", "/v2/postbacks/"+pb.PostbackID+"/test", "", &adminGot); code != 200 || !adminGot.Delivered || adminGot.URL == got.URL {
			t.Fatalf("admin test: %d %+v", code, adminGot)
		}
		other := s.createAffiliate(`{"name":"Other Media"}`)
		if code := s.call("POST", "/v1/postbacks/"+pb.PostbackID+"/test", other.auth(), "", nil); code != 404 {
			t.Fatalf("another affiliate tested the postback: %d, want 404", code)
		}
		if code := s.admin("POST", "/v2/postbacks/pb_nope/test", "", nil); code != 404 {
			t.Fatalf("admin tested a missing postback: %d", code)
		}

		// Never counted: the tests are counted apart, the deliveries not.
		if c := testRecv.Count(); c != 2 {
			t.Fatalf("the receiver got %d requests for two tests", c)
		}
		if v := s.metric("clickrelay_postback_tests_total"); v != 2 {
			t.Fatalf("clickrelay_postback_tests_total = %v, want 2", v)
		}
		if v := s.metric(`clickrelay_postbacks_total{result="delivered"}`); v != 10 {
			t.Fatalf("delivered postbacks went from 10 to %v with tests", v)
		}
		// The report holds the real deliveries (10 by now) and no test.
		today := time.Now().UTC().Format("2006-01-02")
		testkit.Poll(t, "the delivery report", stackWait, func() (bool, string) {
			var report struct {
				Pixels []struct {
					Payload string `json:"payload"`
				} `json:"pixels"`
			}
			if code := s.call("POST", "/v1/networks/reporting/affiliate/pixels", map[string]string{"X-Eflow-API-Key": s.adminKey},
				fmt.Sprintf(`{"timezone_id":67,"from":%q,"to":%q,"query":{"filters":[{"resource_type":"offer","filter_id_value":%q}]}}`,
					today, today, n.offerID), &report); code != 200 {
				t.Fatalf("report: %d", code)
			}
			for _, p := range report.Pixels {
				if strings.Contains(p.Payload, testRecv.URL) || strings.Contains(p.Payload, "test_") {
					t.Fatalf("a test postback is in the report: %q", p.Payload)
				}
			}
			return len(report.Pixels) == 10, fmt.Sprintf("%d rows", len(report.Pixels))
		})
	})

	var serve *stack
	t.Run("a rotation in another process signs the next delivery; serve answers tests", func(t *testing.T) {
		serve = s.startServe("CLICKRELAY_LOG_LEVEL=debug")
		var again struct {
			SigningSecret string `json:"signing_secret"`
		}
		if code := serve.call("POST", "/v1/postbacks/"+signed.PostbackID+"/signing-secret", affiliate, "", &again); code != 200 || again.SigningSecret == "" {
			t.Fatalf("rotate through serve: %d", code)
		}
		secrets = append(secrets, again.SigningSecret)
		// The other process's catalog hears of it through the entity
		// store's pub/sub; its test endpoint signs as its worker does.
		testkit.Poll(t, "the new secret in the all process", 10*time.Second, func() (bool, string) {
			var got testAnswer
			if code := s.call("POST", "/v1/postbacks/"+signed.PostbackID+"/test", affiliate, "", &got); code != 200 {
				t.Fatalf("test: %d", code)
			}
			err := verify(again.SigningSecret, signedRecv.Await(t, signedRecv.Count(), signingWait))
			return err == nil, fmt.Sprint(err)
		})
		s.sale(t, n, "ORDER-S6")
		plainRecv.Await(t, 6, signingWait)
		delivery := signedRecv.AwaitFind(t, "s1=s1-ORDER-S6", signingWait)
		if err := verify(again.SigningSecret, delivery); err != nil {
			t.Fatalf("the delivery after the rotation: %v", err)
		}
		var got testAnswer
		if code := serve.call("POST", "/v1/postbacks/"+signed.PostbackID+"/test", affiliate, "", &got); code != 200 || !got.Delivered || !got.Signed {
			t.Fatalf("serve's test: %d %+v", code, got)
		}
		if err := verify(again.SigningSecret, signedRecv.Await(t, signedRecv.Count(), signingWait)); err != nil {
			t.Fatalf("serve's test: %v", err)
		}
	})

	t.Run("a secret is never read back nor logged", func(t *testing.T) {
		var aff struct {
			SigningSecret string `json:"signing_secret"`
		}
		if code := s.call("POST", "/v1/signing-secret", affiliate, "", &aff); code != 200 {
			t.Fatalf("affiliate secret: %d", code)
		}
		secrets = append(secrets, aff.SigningSecret)
		var list struct {
			Data []postbackAnswer `json:"data"`
		}
		listed := s.raw("GET", "/v1/postbacks", affiliate, "")
		if err := json.Unmarshal([]byte(listed.body), &list); err != nil || listed.status != 200 || len(list.Data) != 3 {
			t.Fatalf("list: %d %s", listed.status, listed.body)
		}
		for _, p := range list.Data {
			if p.SigningSecret != "" || !p.Signed {
				t.Errorf("listed %+v", p)
			}
		}
		var read struct {
			Affiliate struct {
				Signed bool `json:"signed"`
			} `json:"affiliate"`
		}
		adminRead := s.raw("GET", "/v2/affiliates/"+n.affiliateID, map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
		if err := json.Unmarshal([]byte(adminRead.body), &read); err != nil || !read.Affiliate.Signed {
			t.Errorf("the admin's read of a signing affiliate: %s", adminRead.body)
		}
		reads := []string{listed.body, adminRead.body,
			s.raw("GET", "/v2/affiliates", map[string]string{"Authorization": "Bearer " + s.adminKey}, "").body,
			s.raw("PATCH", "/v2/affiliates/"+n.affiliateID, map[string]string{"Authorization": "Bearer " + s.adminKey}, `{"name":"Jane Media 2"}`).body,
		}
		logs := s.stderr.String()
		if serve != nil {
			logs += serve.stderr.String()
		}
		if !strings.Contains(logs, `"test":true`) || !strings.Contains(logs, "test postback sent") {
			t.Errorf("no test=true log line in:\n%s", logs)
		}
		for _, secret := range secrets {
			for i, body := range reads {
				if strings.Contains(body, secret) || strings.Contains(body, secret[len("whsec_"):]) {
					t.Errorf("read %d shows a secret: %s", i, body)
				}
			}
			if strings.Contains(logs, secret[len("whsec_"):]) {
				t.Errorf("the log shows a secret")
			}
		}
		if strings.Contains(logs, token) {
			t.Errorf("the log shows a postback URL's query")
		}
	})
}
