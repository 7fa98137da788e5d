package postback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"

	"github.com/clickrelay/clickrelay/model"
)

// The headers a signed postback carries.
const (
	// HeaderTimestamp is the Unix time in seconds the request was signed.
	HeaderTimestamp = "X-Clickrelay-Timestamp"
	// HeaderSignature is "v1=" and the lowercase hex HMAC-SHA256 of
	// SigningString, keyed with the secret exactly as it was shown.
	HeaderSignature = "X-Clickrelay-Signature"
)

// secretPrefix starts every signing secret, so one pasted into the wrong
// place is recognised.
const secretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" and 32 random bytes in
// lowercase hex.
func NewSecret() (model.Secret, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("drawing a signing secret: %w", err)
	}
	return model.Secret(secretPrefix + hex.EncodeToString(b[:])), nil
}

// SigningString is what is signed: the method, the full URL as sent and the
// timestamp, joined by newlines ("GET\nhttps://...\n1767225600").
func SigningString(method, fullURL string, timestamp int64) string {
	return method + "\n" + fullURL + "\n" + strconv.FormatInt(timestamp, 10)
}

// Signature is the X-Clickrelay-Signature value for a request.
func Signature(secret, method, fullURL string, timestamp int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(SigningString(method, fullURL, timestamp)))
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedURL is the URL a request to u is signed with: the scheme, the host
// as the Host header carries it, and the request target of the request
// line. A receiver rebuilds it from what it got; a fragment, never sent,
// is not part of it.
func SignedURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.RequestURI()
}

// SecretFor is the secret a postback is signed with: its own, else its
// affiliate's; empty means unsigned.
func SecretFor(pb *model.Postback, aff *model.Affiliate) model.Secret {
	if pb != nil && pb.SigningSecret != "" {
		return pb.SigningSecret
	}
	if aff != nil {
		return aff.SigningSecret
	}
	return ""
}
