package committer

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/natsbus"
)

func TestFileStateMarkDone(t *testing.T) {
	tests := []struct {
		name  string
		marks []int
		want  []int
	}{
		{"none", nil, nil},
		{"in order", []int{0, 1, 2}, []int{0, 1, 2}},
		{"reversed", []int{4, 3, 2, 1, 0}, []int{0, 1, 2, 3, 4}},
		{"shuffled with repeats", []int{3, 1, 3, 0, 1, 2, 2, 0}, []int{0, 1, 2, 3}},
		{"gaps", []int{10, 2, 7}, []int{2, 7, 10}},
		{"same batch again and again", []int{5, 5, 5}, []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fileState{Batches: -1}
			for _, b := range tt.marks {
				f.markDone(b)
				if !f.isDone(b) {
					t.Fatalf("isDone(%d) = false right after markDone(%d)", b, b)
				}
				if !slices.IsSorted(f.Done) {
					t.Fatalf("Done = %v is not sorted", f.Done)
				}
			}
			if !slices.Equal(f.Done, tt.want) {
				t.Fatalf("Done = %v, want %v", f.Done, tt.want)
			}
			for b := -2; b <= 12; b++ {
				if got, want := f.isDone(b), slices.Contains(tt.want, b); got != want {
					t.Errorf("isDone(%d) = %v, want %v", b, got, want)
				}
			}
		})
	}
}

func TestFileStateComplete(t *testing.T) {
	tests := []struct {
		name    string
		batches int
		done    []int
		want    bool
	}{
		{"final batch not seen", -1, nil, false},
		{"final batch not seen, some done", -1, []int{0, 1, 2}, false},
		{"one batch, not done", 1, nil, false},
		{"one batch, done", 1, []int{0}, true},
		{"three batches, two done", 3, []int{0, 2}, false},
		{"three batches, all done", 3, []int{0, 1, 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fileState{Batches: tt.batches}
			for _, b := range tt.done {
				f.markDone(b)
			}
			if got := f.complete(); got != tt.want {
				t.Fatalf("complete() = %v, want %v (Batches %d, Done %v)", got, tt.want, f.Batches, f.Done)
			}
		})
	}
}

// stateKV returns the state bucket of a fresh embedded server.
func stateKV(t *testing.T, ctx context.Context) jetstream.KeyValue {
	t.Helper()
	ns, err := natsbus.StartEmbedded(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	nc, err := natsbus.ConnectEmbedded(ns, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsbus.Setup(ctx, js, natsbus.DefaultConfig); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, natsbus.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func samplePending(rows int64) *pending {
	return &pending{
		Plan: natsbus.Plan{
			Attempt: "1a2b3c4d", Table: "ddb.orders", Source: "/", ExportID: "01704067500000-a1b2c3d4",
			ExportType: "FULL_EXPORT", ExportTime: time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC), Format: "DYNAMODB_JSON",
			ItemCount: 3, Key: []string{"pk", "sk"},
			Files: []natsbus.File{{Index: 0, Key: "/x/data/a.json.gz", ItemCount: 3, MD5: "6EMC42vsz5nB/GR3JzfqVg=="}},
		},
		Phase:     phaseLoad,
		Schema:    json.RawMessage(`{"version":1}`),
		Files:     map[int]*fileState{0: {Batches: 2, Items: 3, Done: []int{0, 1}}, 7: {Batches: -1}},
		DataFiles: [][]byte{{0, 1, 2, 0xff}, []byte("second")},
		Inflight:  "3f1e2d3c-0000-4000-8000-000000000000",
		Rows:      rows,
		Rescued:   1,
		MaxSeq:    42,
	}
}

func TestStateStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := stateKV(t, ctx)
	key := natsbus.StateKey("ddb.orders")

	a := &stateStore{kv: kv, key: key}
	b := &stateStore{kv: kv, key: key} // a second committer of the same table
	other := &stateStore{kv: kv, key: natsbus.StateKey("ddb.other")}

	mustLoad := func(s *stateStore, wantRows int64, wantNil bool) {
		t.Helper()
		p, err := s.load(ctx)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if wantNil {
			if p != nil {
				t.Fatalf("load = %+v, want nil", p)
			}
			return
		}
		want := samplePending(wantRows)
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("load:\n got %+v\nwant %+v", p, want)
		}
	}
	steps := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"load on empty bucket", func() error { mustLoad(a, 0, true); return nil }, ""},
		{"clear of nothing", func() error { return a.clear(ctx) }, ""},
		{"create", func() error { return a.save(ctx, samplePending(1)) }, ""},
		{"update", func() error { return a.save(ctx, samplePending(2)) }, ""},
		{"another table is independent", func() error {
			mustLoad(other, 0, true)
			return other.save(ctx, samplePending(99))
		}, ""},
		{"second committer reads the latest", func() error { mustLoad(b, 2, false); return nil }, ""},
		{"second committer takes over", func() error { return b.save(ctx, samplePending(3)) }, ""},
		{"stale revision fails", func() error { return a.save(ctx, samplePending(4)) }, "another committer may own table"},
		{"stale revision still fails", func() error { return a.save(ctx, samplePending(5)) }, "another committer may own table"},
		{"stale clear fails", func() error { return a.clear(ctx) }, "clearing committer state"},
		{"state is the second committer's", func() error { mustLoad(a, 3, false); return nil }, ""},
		{"clear", func() error { return b.clear(ctx) }, ""},
		{"load after clear", func() error { mustLoad(a, 0, true); return nil }, ""},
		{"save after clear (create on a tombstone)", func() error { return b.save(ctx, samplePending(6)) }, ""},
		{"stale revision of the tombstone fails", func() error { return a.save(ctx, samplePending(7)) }, "another committer may own table"},
		{"reload and save again", func() error {
			mustLoad(a, 6, false)
			return a.save(ctx, samplePending(8))
		}, ""},
		{"final state", func() error { mustLoad(b, 8, false); mustLoad(other, 99, false); return nil }, ""},
	}
	for _, st := range steps {
		err := st.run()
		switch {
		case st.wantErr == "" && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.wantErr != "" && err == nil:
			t.Fatalf("%s: succeeded, want an error", st.name)
		case st.wantErr != "" && !strings.Contains(err.Error(), st.wantErr):
			t.Fatalf("%s: error %q does not contain %q", st.name, err, st.wantErr)
		}
	}
}

func TestStateStoreCorrupt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := stateKV(t, ctx)
	tests := []struct {
		name    string
		value   []byte
		wantNil bool
		wantErr string
	}{
		{"not json", []byte("{nope"), false, "is corrupt"},
		{"wrong shape", []byte(`{"files":[1,2]}`), false, "is corrupt"},
		{"empty value", []byte{}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := natsbus.StateKey("ddb.t_" + strings.ReplaceAll(tt.name, " ", "_"))
			if _, err := kv.Put(ctx, key, tt.value); err != nil {
				t.Fatal(err)
			}
			s := &stateStore{kv: kv, key: key}
			p, err := s.load(ctx)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("load = %+v, want an error", p)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), key) {
					t.Fatalf("error %q does not contain %q and the key %q", err, tt.wantErr, key)
				}
				return
			}
			if err != nil || (p == nil) != tt.wantNil {
				t.Fatalf("load = %+v, %v", p, err)
			}
			// The revision read is kept: saving over the value works.
			if err := s.save(ctx, samplePending(1)); err != nil {
				t.Fatalf("save after loading an empty value: %v", err)
			}
		})
	}
}
