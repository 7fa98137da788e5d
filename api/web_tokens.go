package api

import (
	"crypto/rand"
	"encoding/hex"
)

// Random tokens: API keys, endpoint IDs, app IDs.

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// token returns prefix followed by n random base62 characters (about 5.95
// bits each), for API keys and unguessable IDs.
func token(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the system is unusable
	}
	out := make([]byte, len(prefix), len(prefix)+n)
	copy(out, prefix)
	for _, c := range b {
		// 248 is the largest multiple of 62 under 256; redraw above it so
		// every character is equally likely.
		for c >= 248 {
			var one [1]byte
			_, _ = rand.Read(one[:])
			c = one[0]
		}
		out = append(out, base62[c%62])
	}
	return string(out)
}

// hexToken returns n random bytes in hex.
func hexToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
