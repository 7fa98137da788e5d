package clickid

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestMinter(t testing.TB, secret string) *Minter {
	t.Helper()
	m, err := NewMinter([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMintParseRoundTrip(t *testing.T) {
	m := newTestMinter(t, "0123456789abcdef-secret")
	now := time.UnixMilli(1_763_800_000_123)
	id := m.New(now)
	if len(id) != Len {
		t.Fatalf("len(%q) = %d, want %d", id, len(id), Len)
	}
	for _, c := range id {
		if !strings.ContainsRune(alphabet, c) {
			t.Fatalf("%q holds %q, not URL-safe base32", id, c)
		}
	}
	got, test, ok := m.Parse(id)
	if !ok || test || !got.Equal(now) {
		t.Fatalf("Parse(%q) = %v, %v, %v; want %v, false, true", id, got, test, ok, now)
	}
	if _, _, ok := m.Parse(strings.ToUpper(id)); !ok {
		t.Errorf("upper-case ID refused")
	}
	got, test, ok = m.Parse(TestPrefix + id)
	if !ok || !test || !got.Equal(now) {
		t.Fatalf("Parse(test_ id) = %v, %v, %v", got, test, ok)
	}
}

func TestParseRefusesForgedAndMistyped(t *testing.T) {
	m := newTestMinter(t, "0123456789abcdef-secret")
	other := newTestMinter(t, "another-network-secret")
	id := m.New(time.Now())
	cases := map[string]string{
		"empty":          "",
		"short":          id[:Len-1],
		"long":           id + "0",
		"other network":  other.New(time.Now()),
		"bad character":  id[:5] + "!" + id[6:],
		"excluded u":     id[:5] + "u" + id[6:],
		"overflow":       "z" + id[1:],
		"bad prefix":     "tst_" + id,
		"prefix no body": TestPrefix,
	}
	// Every single-character typo must be caught.
	for i := 0; i < Len; i++ {
		for _, c := range []byte(alphabet) {
			if c == id[i] {
				continue
			}
			cases["typo"+string(rune('A'+i))+string(c)] = id[:i] + string(c) + id[i+1:]
		}
	}
	for name, s := range cases {
		if _, _, ok := m.Parse(s); ok {
			t.Errorf("%s: Parse(%q) accepted", name, s)
		}
	}
}

func TestIDsAreUniqueAndTimeOrdered(t *testing.T) {
	m := newTestMinter(t, "0123456789abcdef-secret")
	var mu sync.Mutex
	seen := make(map[string]bool)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]string, 0, 5000)
			for i := 0; i < 5000; i++ {
				local = append(local, m.New(time.Now()))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range local {
				if seen[id] {
					t.Errorf("duplicate ID %q", id)
				}
				seen[id] = true
			}
		}()
	}
	wg.Wait()

	base := time.UnixMilli(1_700_000_000_000)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = m.New(base.Add(time.Duration(i) * time.Millisecond))
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("IDs minted in time order do not sort in time order")
	}
}

func TestNewMinterRejectsShortSecret(t *testing.T) {
	if _, err := NewMinter([]byte("short")); err == nil {
		t.Fatal("accepted a 5-byte secret")
	}
}

func FuzzParse(f *testing.F) {
	m := newTestMinter(f, "0123456789abcdef-secret")
	f.Add(m.New(time.Now()))
	f.Add(TestPrefix + m.New(time.Now()))
	f.Add("")
	f.Add("zzzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, s string) {
		ts, _, ok := m.Parse(s)
		if !ok {
			return
		}
		// Anything accepted must re-encode to itself, case aside.
		body := strings.TrimPrefix(strings.ToLower(s), TestPrefix)
		var raw [rawLen]byte
		if !decode(&raw, body) || string(encode(nil, &raw)) != body {
			t.Fatalf("accepted %q that does not round-trip", s)
		}
		if ts.UnixMilli() < 0 {
			t.Fatalf("negative time from %q", s)
		}
	})
}

func BenchmarkMint(b *testing.B) {
	m := newTestMinter(b, "0123456789abcdef-secret")
	buf := make([]byte, 0, Len)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		buf = m.Append(buf[:0], now)
	}
}

func BenchmarkParse(b *testing.B) {
	m := newTestMinter(b, "0123456789abcdef-secret")
	id := m.New(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := m.Parse(id); !ok {
			b.Fatal("refused")
		}
	}
}
