package postback

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestSigningString(t *testing.T) {
	cases := []struct {
		method, url string
		ts          int64
		want        string
	}{
		{"GET", "https://t.example/pb?cid=abc&payout=1.5", 1767225600, "GET\nhttps://t.example/pb?cid=abc&payout=1.5\n1767225600"},
		{"GET", "http://127.0.0.1:8080/", 0, "GET\nhttp://127.0.0.1:8080/\n0"},
	}
	for _, c := range cases {
		if got := SigningString(c.method, c.url, c.ts); got != c.want {
			t.Errorf("SigningString(%q, %q, %d) = %q, want %q", c.method, c.url, c.ts, got, c.want)
		}
	}
}

// A known answer, computed outside Go with
// printf 'GET\nhttps://t.example/pb?cid=abc\n1767225600' | openssl dgst -sha256 -hmac whsec_test
func TestSignatureKnownAnswer(t *testing.T) {
	const want = "v1=9a52bffbfc48ed887affa2124278c34ded236390f3e06f968bf0950a8866a9e2"
	if got := Signature("whsec_test", "GET", "https://t.example/pb?cid=abc", 1767225600); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
}

func TestSignedURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://t.example/pb?cid=a%20b&x=1", "https://t.example/pb?cid=a%20b&x=1"},
		{"http://127.0.0.1:9/", "http://127.0.0.1:9/"},
		{"http://127.0.0.1:9", "http://127.0.0.1:9/"},                       // the request line says "/"
		{"https://user:pw@t.example/p?q=1#frag", "https://t.example/p?q=1"}, // neither userinfo nor fragment is in the request line
	}
	for _, c := range cases {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := SignedURL(u); got != c.want {
			t.Errorf("SignedURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if !strings.HasPrefix(a.Reveal(), "whsec_") || len(a.Reveal()) != len("whsec_")+64 || a == b {
		t.Fatalf("secrets %q and %q: want whsec_ and 64 hex digits, different each time", a.Reveal(), b.Reveal())
	}
	if s := a.String(); strings.Contains(s, a.Reveal()[6:]) {
		t.Fatalf("a secret prints as %q", s)
	}
}

func TestSecretFor(t *testing.T) {
	own, affs := model.Secret("whsec_own"), model.Secret("whsec_aff")
	cases := []struct {
		name string
		pb   *model.Postback
		aff  *model.Affiliate
		want model.Secret
	}{
		{"unsigned", &model.Postback{}, &model.Affiliate{}, ""},
		{"affiliate-wide", &model.Postback{}, &model.Affiliate{SigningSecret: affs}, affs},
		{"the postback's wins", &model.Postback{SigningSecret: own}, &model.Affiliate{SigningSecret: affs}, own},
		{"no affiliate", &model.Postback{SigningSecret: own}, nil, own},
	}
	for _, c := range cases {
		if got := SecretFor(c.pb, c.aff); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got.Reveal(), c.want.Reveal())
		}
	}
}

// The sender signs what it sends, and a receiver that rebuilds the URL
// from its request verifies it.
func TestSenderSignsWhatItSends(t *testing.T) {
	rcv := testkit.NewReceiver(t, testkit.Default(testkit.Answer{Body: "ok"}))
	config := DefaultConfiguration()
	config.AllowPrivate = true
	s := NewSender(config, zerolog.Nop())
	defer s.CloseIdleConnections()

	const secret = "whsec_unit"
	o := s.Send(context.Background(), rcv.URL+"/pb?cid=a%2Fb&payout=1.00", secret)
	if !o.Delivered() || !o.Signed() || o.Body() != "ok" || o.URL() != rcv.URL+"/pb?cid=a%2Fb&payout=1.00" {
		t.Fatalf("outcome %+v", o)
	}
	r := rcv.Await(t, 1, waitLimit)
	timestamp, signature := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("timestamp %q", timestamp)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("GET\n" + r.URL + "\n" + timestamp))
	if want := "v1=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(signature), []byte(want)) {
		t.Fatalf("signature %q, want %q over %q", signature, want, r.URL)
	}

	o = s.Send(context.Background(), rcv.URL+"/pb", "")
	if r := rcv.Await(t, 2, waitLimit); o.Signed() || r.Header.Get(HeaderSignature) != "" || r.Header.Get(HeaderTimestamp) != "" {
		t.Fatalf("unsigned request carried %q %q", r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp))
	}
}

// A test postback goes through the same guard as a delivery: a refused or
// unusable target is a test that ran, with its error and no query shown
// in the error.
func TestSenderTestReportsWhatCameOfIt(t *testing.T) {
	srv := testkit.NewReceiver(t, testkit.Default(testkit.Answer{Status: http.StatusTeapot, Body: strings.Repeat("x", 1000)}))
	guarded := NewSender(DefaultConfiguration(), zerolog.Nop())
	config := DefaultConfiguration()
	config.AllowPrivate = true
	open := NewSender(config, zerolog.Nop())
	cases := []struct {
		name          string
		sender        *Sender
		url           string
		secret        model.Secret
		wantStatus    int
		wantDelivered bool
		wantErr       string
		wantURL       string
	}{
		{"private target refused", guarded, srv.URL + "/pb?token=hidden&c={click_id}", "", 0, false, "private or reserved address refused", srv.URL + "/pb?token=hidden&c=test_"},
		{"answered", open, srv.URL + "/pb?p={payout}&s={sub3}", "whsec_x", 418, false, "", srv.URL + "/pb?p=1&s=sub3"},
		{"not http", open, "ftp://files.example/pb?token=hidden", "", 0, false, "not a valid http(s) URL", "ftp://files.example/pb?token=hidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.sender.Test(context.Background(), &model.Postback{ID: "pb_1", AffiliateID: "1", URL: c.url, Event: model.EventConversion}, c.secret)
			if r.StatusCode != c.wantStatus || r.Delivered != c.wantDelivered || !strings.HasPrefix(r.URL, c.wantURL) || r.Signed != (c.secret != "" && c.wantErr == "") {
				t.Fatalf("%+v", r)
			}
			if !strings.Contains(r.Error, c.wantErr) || strings.Contains(r.Error, "hidden") {
				t.Fatalf("error %q, want it to say %q and hide the query", r.Error, c.wantErr)
			}
			if len(r.ResponseBody) > 256 {
				t.Fatalf("response body of %d bytes kept", len(r.ResponseBody))
			}
		})
	}
}
