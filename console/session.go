// Package console is the web console: its embedded single-page app
// (index.html and the files under assets/) and the signed session cookie
// the console signs in with. The app calls the same JSON APIs as any
// client; package api serves the files and checks the cookie.
package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "cr_session"

// Lifetime is how long a session lasts from sign-in.
const Lifetime = 12 * time.Hour

// maxTokenLen bounds a cookie worth verifying; a real one is ~200 bytes.
const maxTokenLen = 1024

// Session kinds: who signed in.
const (
	KindAdmin     = "admin"
	KindAffiliate = "affiliate"
)

// Session is what a cookie says, once its signature is checked.
type Session struct {
	Kind string `json:"k"`
	ID   string `json:"i,omitempty"`
	// Expires is a Unix time in seconds.
	Expires int64 `json:"e"`
	// KeyPrefix is the first 16 bytes of the SHA-256 of the key signed in
	// with, so a session ends when its key is rotated: the server checks
	// that the key still belongs to the account.
	KeyPrefix []byte `json:"f"`
	// Nonce tells apart two sessions of the same key started in the same
	// second: signing one out (which lists its token as ended) must not
	// end the other.
	Nonce []byte `json:"n,omitempty"`
}

// Errors Open answers.
var (
	ErrMalformed = errors.New("console: malformed session")
	ErrSignature = errors.New("console: bad session signature")
	ErrExpired   = errors.New("console: session expired")
)

// Sealer signs and checks sessions under a key derived from the admin
// key's hash: every serve process of a network derives the same key, and
// changing the admin key ends every session.
type Sealer struct{ key []byte }

// NewSealer derives the signing key from the admin key's SHA-256.
func NewSealer(adminKeyHash [32]byte) Sealer {
	m := hmac.New(sha256.New, adminKeyHash[:])
	m.Write([]byte("clickrelay console session v1"))
	return Sealer{key: m.Sum(nil)}
}

var b64 = base64.RawURLEncoding

// Seal encodes and signs s as a cookie value: payload "." signature.
func (k Sealer) Seal(s Session) string {
	payload, _ := json.Marshal(s) // a struct of strings, ints and bytes: cannot fail
	p := b64.EncodeToString(payload)
	return p + "." + b64.EncodeToString(k.mac("session:"+p))
}

// Open checks token's signature and expiry at now.
func (k Sealer) Open(token string, now time.Time) (Session, error) {
	var s Session
	if len(token) > maxTokenLen {
		return s, ErrMalformed
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return s, ErrMalformed
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return s, ErrMalformed
	}
	if !hmac.Equal(got, k.mac("session:"+p)) {
		return s, ErrSignature
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return s, ErrMalformed
	}
	if err := json.Unmarshal(payload, &s); err != nil {
		return s, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if now.Unix() >= s.Expires {
		return s, ErrExpired
	}
	return s, nil
}

// CSRFToken is the token a cookie-authenticated write must repeat in
// X-CSRF-Token: an HMAC of the cookie, which a page of another origin can
// neither read nor compute.
func (k Sealer) CSRFToken(token string) string {
	return b64.EncodeToString(k.mac("csrf:" + token))
}

// CheckCSRF reports whether presented is token's CSRF token.
func (k Sealer) CheckCSRF(token, presented string) bool {
	return presented != "" && hmac.Equal([]byte(presented), []byte(k.CSRFToken(token)))
}

func (k Sealer) mac(msg string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
