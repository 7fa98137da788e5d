package clickid

import (
	"encoding/binary"
	"math/bits"
)

// sipHash12 is SipHash-2-4 (Aumasson and Bernstein) of the first 12 bytes of
// b, written out for that one length so it inlines into plain arithmetic.
func sipHash12(k0, k1 uint64, b *[rawLen]byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	compress := func(m uint64) {
		v3 ^= m
		round()
		round()
		v0 ^= m
	}

	compress(binary.LittleEndian.Uint64(b[0:8]))
	// The last block: the 4 remaining bytes, and the length in the top byte.
	compress(uint64(binary.LittleEndian.Uint32(b[8:12])) | 12<<56)
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
