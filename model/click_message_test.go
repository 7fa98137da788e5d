package model

import (
	"encoding/json"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// appendClickMessage writes c as the tracker does, from a Click.
func appendClickMessage(dst []byte, c *Click) []byte {
	flags := recordFlags(c)
	if c.Bot {
		flags |= ClickFlagBot
	}
	if c.Unique {
		flags |= ClickFlagUnique
	}
	dst = AppendClickMessageHeader(dst, flags, c.Time, c.PayoutMicros, c.RevenueMicros)
	for _, s := range clickMessageFields(c) {
		dst = AppendClickRecordString(dst, *s)
	}
	return dst
}

func TestClickMessageCarriesEveryField(t *testing.T) {
	sent := sampleClick
	sent.RevenueMicros, sent.Test, sent.Outcome, sent.SmartLinkID = 500000, true, ClickOffTarget, "9"
	msg := appendClickMessage(nil, &sent)
	var got Click
	if err := DecodeClick(msg, &got); err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "the click read from its message", sent, got)

	// A message cut anywhere, or with a byte too many, is refused whole.
	for _, bad := range [][]byte{append(msg[:len(msg):len(msg)], 0), {ClickMessageV1}, {ClickMessageV1, 0, 0x80}} {
		got = Click{OfferID: "left over"}
		if err := DecodeClick(bad, &got); err == nil || got != (Click{}) {
			t.Errorf("%q decoded as %+v, %v", bad, got, err)
		}
	}
	for n := 1; n < len(msg); n++ {
		if err := DecodeClick(msg[:n], &got); err == nil {
			t.Fatalf("the message's first %d bytes decoded as %+v", n, got)
		}
	}
}

// FuzzClickMessage: any string survives the message as the JSON carries it
// (invalid UTF-8 becomes U+FFFD in both), and no input makes the decoder
// panic.
func FuzzClickMessage(f *testing.F) {
	f.Add("12", "summer sale", "\xff\xfe é", "Mozilla/5.0\t\x00", int64(350000), true, []byte{ClickMessageV1, 0, 2, 0, 0})
	f.Add("", "", "", "", int64(0), false, []byte(`{"click_id":"x"}`))
	f.Fuzz(func(t *testing.T, offer, sub1, affClickID, userAgent string, payout int64, bot bool, raw []byte) {
		c := sampleClick
		c.OfferID, c.Subs[0], c.AffClickID, c.UserAgent, c.PayoutMicros, c.Bot = offer, sub1, affClickID, userAgent, payout, bot
		var got, want Click
		if err := DecodeClick(appendClickMessage(nil, &c), &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if err := json.Unmarshal(mustJSON(c), &want); err != nil {
			t.Fatal(err)
		}
		testkit.Equal(t, "the message against the JSON", want, got)
		var any Click
		_ = DecodeClick(append([]byte{ClickMessageV1}, raw...), &any) // damaged input is an error, never a panic
	})
}
