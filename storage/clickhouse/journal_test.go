package clickhouse

import (
	"bytes"
	"context"
	"testing"

	"github.com/clickrelay/clickrelay/model"
)

func TestJournalKeepsTheLatestVersionOfEach(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	secret := []byte{0, 1, 2, 0xff, 0xfe, '\n'} // secrets are raw bytes
	// Written in separate inserts, so the versions sit in separate parts
	// and the read cannot count on a merge.
	writes := [][]model.JournalRecord{
		{{Kind: "offer", ID: "1", Version: 10, Body: []byte(`{"name":"v1"}`)},
			{Kind: "postback", ID: "pb_1", Version: 10, Body: []byte(`{}`)}},
		{{Kind: "offer", ID: "1", Version: 30, Body: []byte(`{"name":"v3"}`)},
			{Kind: "postback", ID: "pb_1", Version: 20, Deleted: true}},
		{{Kind: "offer", ID: "1", Version: 20, Body: []byte(`{"name":"v2"}`)}, // late, older
			{Kind: model.JournalSecret, ID: "clickid", Version: 5, Body: secret}},
	}
	for _, w := range writes {
		if err := c.AppendJournal(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.LoadJournal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]model.JournalRecord{
		{"offer", "1"}:                   {Version: 30, Body: []byte(`{"name":"v3"}`)},
		{"postback", "pb_1"}:             {Version: 20, Deleted: true, Body: []byte{}},
		{model.JournalSecret, "clickid"}: {Version: 5, Body: secret},
	}
	if len(got) != len(want) {
		t.Fatalf("LoadJournal = %d records, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[[2]string{r.Kind, r.ID}]
		if !ok || r.Version != w.Version || r.Deleted != w.Deleted || !bytes.Equal(r.Body, w.Body) {
			t.Errorf("%s %s = %+v, want %+v", r.Kind, r.ID, r, w)
		}
	}
}

func TestEnsureJournalOnAnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	if err := c.DropDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureJournal(ctx); err != nil {
		t.Fatal(err)
	}
	if records, err := c.LoadJournal(ctx); err != nil || len(records) != 0 {
		t.Fatalf("LoadJournal = %v, %v", records, err)
	}
}
