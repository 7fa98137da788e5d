package sink

import (
	"context"
	"fmt"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/model"
)

// A message that does not decode leaves no trace in the batch: the records
// and their offsets stay paired, so each row is stored with its own offset.
func TestPendingSkipsWhatDoesNotDecode(t *testing.T) {
	tests := []struct {
		name     string
		values   []string
		wantIDs  []string
		wantOffs []int64
	}{
		{"all decode", []string{`{"click_id":"a"}`, `{"click_id":"b"}`}, []string{"a", "b"}, []int64{0, 1}},
		{"one in the middle does not", []string{`{"click_id":"a"}`, `{not json`, `{"click_id":"c"}`}, []string{"a", "c"}, []int64{0, 2}},
		{"the last does not", []string{`{"click_id":"a"}`, `{"click_id":`}, []string{"a"}, []int64{0}},
		{"none do", []string{`[`, `{`}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotIDs []string
			var gotOffs []int64
			p := newPending(model.DecodeClick, func(_ context.Context, clicks []model.Click, at []model.Offset) error {
				if len(clicks) != len(at) {
					return fmt.Errorf("%d records and %d offsets", len(clicks), len(at))
				}
				for i := range clicks {
					gotIDs, gotOffs = append(gotIDs, clicks[i].ID), append(gotOffs, at[i].Offset)
				}
				return nil
			})
			// Twice: a reset batch must be as good as a new one.
			for round := range 2 {
				gotIDs, gotOffs = nil, nil
				for i, v := range tt.values {
					_ = p.add(&kafkago.Message{Offset: int64(i), Value: []byte(v)})
				}
				if err := p.store(context.Background()); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(gotIDs) != fmt.Sprint(tt.wantIDs) || fmt.Sprint(gotOffs) != fmt.Sprint(tt.wantOffs) {
					t.Fatalf("round %d: stored %v at %v, want %v at %v", round, gotIDs, gotOffs, tt.wantIDs, tt.wantOffs)
				}
				if p.len() != len(tt.wantIDs) {
					t.Fatalf("len() = %d, want %d", p.len(), len(tt.wantIDs))
				}
				p.reset()
			}
		})
	}
}
