// Package clickid mints and checks click IDs.
//
// A click ID is 16 bytes written as 26 characters of a sortable base32
// alphabet (digits, then lower-case letters without i, l, o, u):
//
//	bytes 0-5   milliseconds since the Unix epoch, big-endian
//	bytes 6-8   a random per-process instance number
//	bytes 9-11  a per-process counter, incremented atomically
//	bytes 12-15 a MAC: SipHash-2-4 of bytes 0-11 under the network's secret
//
// So IDs are URL-safe, time-ordered (they sort by mint time), minted without
// locks, unique across processes, and a forged or mistyped ID is refused by
// arithmetic alone, before any storage is asked. SipHash is a keyed
// pseudo-random function made for short inputs; 32 bits of it make a guessed
// ID pass one time in four billion, and such an ID still finds no click.
//
// Test click IDs (seed 002) are a real ID behind the prefix "test_".
package clickid

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"
)

// Len is the length of an ID without prefix.
const Len = 26

// TestPrefix marks a test click ID.
const TestPrefix = "test_"

const rawLen = 16

// alphabet sorts in ASCII order, so IDs sort like the bytes they encode.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var decodeTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
		if c := alphabet[i]; c >= 'a' && c <= 'z' {
			t[c-'a'+'A'] = byte(i) // accept upper case: some tools shout
		}
	}
	return t
}()

// Minter mints IDs and checks them. It is safe for concurrent use.
type Minter struct {
	k0, k1   uint64 // SipHash key
	instance [3]byte
	counter  atomic.Uint32
}

// NewMinter returns a Minter keyed by secret. Every process of a network
// must share the secret to accept each other's IDs.
func NewMinter(secret []byte) (*Minter, error) {
	if len(secret) < 16 {
		return nil, errors.New("click ID secret must be at least 16 bytes")
	}
	key := sha256.Sum256(secret)
	m := &Minter{
		k0: binary.LittleEndian.Uint64(key[0:8]),
		k1: binary.LittleEndian.Uint64(key[8:16]),
	}
	var seed [7]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	copy(m.instance[:], seed[:3])
	m.counter.Store(binary.BigEndian.Uint32(seed[3:]))
	return m, nil
}

// Append mints an ID for time now and appends its 26 characters to dst.
func (m *Minter) Append(dst []byte, now time.Time) []byte {
	var raw [rawLen]byte
	ms := uint64(now.UnixMilli())
	raw[0] = byte(ms >> 40)
	raw[1] = byte(ms >> 32)
	raw[2] = byte(ms >> 24)
	raw[3] = byte(ms >> 16)
	raw[4] = byte(ms >> 8)
	raw[5] = byte(ms)
	copy(raw[6:9], m.instance[:])
	n := m.counter.Add(1)
	raw[9] = byte(n >> 16)
	raw[10] = byte(n >> 8)
	raw[11] = byte(n)
	m.seal(&raw)
	return encode(dst, &raw)
}

// New mints an ID as a string.
func (m *Minter) New(now time.Time) string {
	var buf [Len]byte
	return string(m.Append(buf[:0], now))
}

// seal writes the MAC of raw[0:12] into raw[12:16].
func (m *Minter) seal(raw *[rawLen]byte) {
	binary.BigEndian.PutUint32(raw[12:], uint32(sipHash12(m.k0, m.k1, raw)))
}

// Parse checks id (with or without the test prefix) and returns when it was
// minted and whether it is a test ID. ok is false for anything this network
// did not mint.
func (m *Minter) Parse(id string) (minted time.Time, test bool, ok bool) {
	if len(id) == Len+len(TestPrefix) && id[:len(TestPrefix)] == TestPrefix {
		id, test = id[len(TestPrefix):], true
	}
	if len(id) != Len {
		return time.Time{}, false, false
	}
	var raw [rawLen]byte
	if !decode(&raw, id) {
		return time.Time{}, false, false
	}
	want := raw
	m.seal(&want)
	if subtle.ConstantTimeCompare(raw[12:], want[12:]) != 1 {
		return time.Time{}, false, false
	}
	ms := int64(raw[0])<<40 | int64(raw[1])<<32 | int64(raw[2])<<24 |
		int64(raw[3])<<16 | int64(raw[4])<<8 | int64(raw[5])
	return time.UnixMilli(ms), test, true
}

// encode writes 128 bits as 26 base32 digits, most significant first; the
// first digit carries the top 3 bits (130 bits of room, two always zero).
func encode(dst []byte, raw *[rawLen]byte) []byte {
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	var out [Len]byte
	for i := Len - 1; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(dst, out[:]...)
}

func decode(raw *[rawLen]byte, s string) bool {
	var hi, lo uint64
	for i := 0; i < Len; i++ {
		v := decodeTable[s[i]]
		if v == 0xff {
			return false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	if decodeTable[s[0]] > 7 { // more than 128 bits
		return false
	}
	binary.BigEndian.PutUint64(raw[:8], hi)
	binary.BigEndian.PutUint64(raw[8:], lo)
	return true
}
