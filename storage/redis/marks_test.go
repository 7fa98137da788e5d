package redis

import "testing"

func TestMarkMemory(t *testing.T) {
	m := newMarkMemory()
	jane, joe := m.key("1", 0xbeef), m.key("1", 0xcafe)
	if jane == m.key("2", 0xbeef) {
		t.Fatal("one visitor's marks on two offers share a key")
	}
	if _, known := m.answer(jane, []byte("a"), 0); known {
		t.Fatal("a mark never set is known")
	}
	m.remember(jane, []byte("a"), 1000)
	for _, tc := range []struct {
		id            string
		at            int64
		unique, known bool
	}{
		{"b", 999, false, true}, // the visitor again, within the mark's life
		{"a", 999, true, true},  // the click that set it, stored again
		{"b", 1000, false, false},
		{"b", 999, false, false}, // gone once expired, not back
	} {
		if unique, known := m.answer(jane, []byte(tc.id), tc.at); unique != tc.unique || known != tc.known {
			t.Errorf("click %s at %d: unique %v, known %v; want %v, %v", tc.id, tc.at, unique, known, tc.unique, tc.known)
		}
	}
	if _, known := m.answer(joe, []byte("c"), 0); known {
		t.Error("another visitor's mark is known")
	}
	// A full memory starts again empty.
	for i := range uint64(markMemoryLimit) {
		m.remember(m.key("9", i+1), []byte("x"), 1000)
	}
	if _, known := m.answer(m.key("9", 1), []byte("y"), 0); !known {
		t.Fatal("a mark forgotten before the memory was full")
	}
	m.remember(jane, []byte("a"), 1000)
	if _, known := m.answer(m.key("9", 1), []byte("y"), 0); known {
		t.Error("the memory grew past its limit")
	}
	if len(m.marks) != 1 {
		t.Errorf("%d marks after the reset, want the one remembered since", len(m.marks))
	}
}
