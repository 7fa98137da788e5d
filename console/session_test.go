package console

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSealerRoundTripAndRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := NewSealer(sha256.Sum256([]byte("admin")))
	other := NewSealer(sha256.Sum256([]byte("rotated admin")))
	good := k.Seal(Session{Kind: KindAffiliate, ID: "7", Expires: now.Add(Lifetime).Unix(), KeyPrefix: []byte{1, 2}})
	payload, sig, _ := strings.Cut(good, ".")
	forged := k.Seal(Session{Kind: KindAdmin, Expires: now.Add(Lifetime).Unix()})
	forgedPayload, _, _ := strings.Cut(forged, ".")
	cases := []struct {
		name  string
		token string
		at    time.Time
		want  error
		key   Sealer
	}{
		{"valid", good, now, nil, k},
		{"expired", good, now.Add(Lifetime), ErrExpired, k},
		{"another admin key", good, now, ErrSignature, other},
		{"payload swapped", forgedPayload + "." + sig, now, ErrSignature, k},
		{"no signature", payload, now, ErrMalformed, k},
		{"garbage", "%%%.%%%", now, ErrMalformed, k},
		{"too long", strings.Repeat("a", 2000) + "." + sig, now, ErrMalformed, k},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.key.Open(c.token, c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
			if c.want == nil && (s.Kind != KindAffiliate || s.ID != "7" || len(s.KeyPrefix) != 2) {
				t.Fatalf("Open = %+v", s)
			}
		})
	}
}

func TestCSRFTokenBindsTheSession(t *testing.T) {
	k := NewSealer(sha256.Sum256([]byte("admin")))
	a := k.Seal(Session{Kind: KindAdmin, Expires: 10})
	b := k.Seal(Session{Kind: KindAdmin, Expires: 11})
	if !k.CheckCSRF(a, k.CSRFToken(a)) {
		t.Fatal("a session's own token is refused")
	}
	if k.CheckCSRF(a, k.CSRFToken(b)) || k.CheckCSRF(a, "") {
		t.Fatal("another session's token, or none, is accepted")
	}
}

func TestAssetServesOnlyItsFiles(t *testing.T) {
	if _, ct, ok := Asset("app.js"); !ok || !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("app.js: ok=%v type=%q", ok, ct)
	}
	for _, name := range []string{"", "../index.html", ".hidden.js", "app.go", "sub/x.js", "missing.js"} {
		if _, _, ok := Asset(name); ok {
			t.Errorf("Asset(%q) served", name)
		}
	}
	if !strings.Contains(string(Index()), `src="/assets/app.js"`) {
		t.Fatal("index.html does not load the app")
	}
}
