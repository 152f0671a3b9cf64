package natsbus

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestTaskMsgID(t *testing.T) {
	task := func(export, attempt string, index int, kind string) *Task {
		return &Task{Kind: kind, Table: "ddb.orders", ExportID: export, Attempt: attempt, File: File{Index: index, Key: "k"}}
	}
	tests := []struct {
		name string
		task *Task
		want string
	}{
		{"load", task("01704067500000-a1b2c3d4", "1a2b3c4d", 0, TaskLoad), "01704067500000-a1b2c3d4/1a2b3c4d/0/load"},
		{"detect", task("01704067500000-a1b2c3d4", "1a2b3c4d", 12, TaskDetect), "01704067500000-a1b2c3d4/1a2b3c4d/12/detect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TaskMsgID(tt.task); got != tt.want {
				t.Fatalf("TaskMsgID = %q, want %q", got, tt.want)
			}
			// Deterministic: a retried submission of the same task (same
			// attempt) publishes the same id, whatever else the task holds.
			again := *tt.task
			again.Table, again.Source, again.File.Key, again.File.MD5 = "other.table", "s3://b/", "other", "x"
			if got := TaskMsgID(&again); got != tt.want {
				t.Fatalf("TaskMsgID depends on more than export/attempt/file/kind: %q", got)
			}
		})
	}
}

func TestTaskMsgIDUnique(t *testing.T) {
	seen := map[string]string{}
	for _, export := range []string{"01704067500000-a1b2c3d4", "01704071100000-e5f6a7b8"} {
		for _, attempt := range []string{"aaaaaaaa", "bbbbbbbb"} {
			for index := range 12 {
				for _, kind := range []string{TaskLoad, TaskDetect} {
					what := fmt.Sprint(export, attempt, index, kind)
					id := TaskMsgID(&Task{Kind: kind, ExportID: export, Attempt: attempt, File: File{Index: index}})
					if prev, ok := seen[id]; ok {
						t.Fatalf("tasks %s and %s share message id %q", prev, what, id)
					}
					seen[id] = what
				}
			}
		}
	}
}

func TestBatchMsgID(t *testing.T) {
	tests := []struct {
		export, attempt string
		file, batch     int
		want            string
	}{
		{"01704067500000-a1b2c3d4", "1a2b3c4d", 0, 0, "01704067500000-a1b2c3d4/1a2b3c4d/0/0"},
		{"01704067500000-a1b2c3d4", "1a2b3c4d", 3, 17, "01704067500000-a1b2c3d4/1a2b3c4d/3/17"},
		{"01704067500000-a1b2c3d4", "1a2b3c4d", 3, -1, "01704067500000-a1b2c3d4/1a2b3c4d/3/-1"}, // detect result
		{"01704067500000-a1b2c3d4", "1a2b3c4d", 3, -2, "01704067500000-a1b2c3d4/1a2b3c4d/3/-2"}, // file error
	}
	for _, tt := range tests {
		for range 2 { // deterministic
			if got := BatchMsgID(tt.export, tt.attempt, tt.file, tt.batch); got != tt.want {
				t.Errorf("BatchMsgID(%q, %q, %d, %d) = %q, want %q", tt.export, tt.attempt, tt.file, tt.batch, got, tt.want)
			}
		}
	}
}

func TestBatchMsgIDUnique(t *testing.T) {
	// File and batch numbers that could run together if the id had no
	// separators (1/11 vs 11/1) must still give distinct ids.
	seen := map[string][4]any{}
	for _, export := range []string{"01704067500000-a1b2c3d4", "01704071100000-e5f6a7b8"} {
		for _, attempt := range []string{"aaaaaaaa", "bbbbbbbb"} {
			for file := range 13 {
				for batch := -2; batch < 13; batch++ {
					k := [4]any{export, attempt, file, batch}
					id := BatchMsgID(export, attempt, file, batch)
					if prev, ok := seen[id]; ok {
						t.Fatalf("batches %v and %v share message id %q", prev, k, id)
					}
					seen[id] = k
				}
			}
		}
	}
}

func TestIntHeader(t *testing.T) {
	tests := []struct {
		name   string
		value  *string // nil: header absent
		want   int64
		wantOK bool
	}{
		{"absent", nil, 0, false},
		{"empty", ptr(""), 0, false},
		{"zero", ptr("0"), 0, true},
		{"positive", ptr("12345"), 12345, true},
		{"negative", ptr("-2"), -2, true},
		{"max int64", ptr("9223372036854775807"), 9223372036854775807, true},
		{"overflow", ptr("9223372036854775808"), 0, false},
		{"not a number", ptr("twelve"), 0, false},
		{"float", ptr("1.5"), 0, false},
		{"padded", ptr(" 12"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := nats.Header{}
			h.Set("Other", "7")
			if tt.value != nil {
				h.Set(HdrFinal, *tt.value)
			}
			got, ok := IntHeader(h, HdrFinal)
			if ok != tt.wantOK {
				t.Fatalf("IntHeader ok = %v, want %v (value %d)", ok, tt.wantOK, got)
			}
			if ok && got != tt.want {
				t.Fatalf("IntHeader = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestEventFinal(t *testing.T) {
	tests := []struct {
		status string
		final  bool
	}{
		{StatusCommitted, true},
		{StatusSkipped, true},
		{StatusFailed, true},
		{StatusDetecting, false},
		{StatusLoading, false},
		{"", false},
		{"COMMITTED", false},
	}
	for _, tt := range tests {
		if got := (Event{Table: "a.b", Status: tt.status}).Final(); got != tt.final {
			t.Errorf("Event{Status: %q}.Final() = %v, want %v", tt.status, got, tt.final)
		}
	}
}

func ptr[T any](v T) *T { return &v }
