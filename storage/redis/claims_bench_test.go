package redis

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkClaim and BenchmarkClaimConfirm: what the intake's dedupe costs
// per conversion, with and without the confirmation round trip.
func BenchmarkClaim(b *testing.B)        { benchClaims(b, false) }
func BenchmarkClaimConfirm(b *testing.B) { benchClaims(b, true) }

func benchClaims(b *testing.B, confirm bool) {
	ctx := context.Background()
	c := NewForTest(b)
	payload := make([]byte, 600) // a conversion's JSON
	i := 0
	for b.Loop() {
		i++
		owner := "conv_" + strconv.Itoa(i)
		claims := []Claim{{ClaimTxID, "adv:" + owner, "adv"}, {ClaimClick, "o:" + owner, "adv"}}
		if _, err := c.Claim(ctx, owner, claims, nil, payload, nil, time.Now(), 15*time.Second); err != nil {
			b.Fatal(err)
		}
		if confirm {
			if err := c.Confirm(ctx, owner, claims); err != nil {
				b.Fatal(err)
			}
		}
	}
}
