package natsbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestValidateTable(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"dynamodb.orders", true},
		{"ddb.Orders_2024", true},
		{"_a._b", true},
		{"A1.b2", true},
		{"a__b.c", true},
		{"", false},
		{"orders", false},
		{"a.b.c", false},
		{".orders", false},
		{"ddb.", false},
		{"1ddb.orders", false},
		{"ddb.2orders", false},
		{"ddb.or-ders", false},
		{"ddb.or ders", false},
		{"ddb.orders ", false},
		{" ddb.orders", false},
		{"ddb.orders\n", false},
		{"ddb.ord*", false},
		{"ddb.>", false},
		{"ddb.ordérs", false},
		{"ddb/orders", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			err := ValidateTable(tt.name)
			if (err == nil) != tt.valid {
				t.Fatalf("ValidateTable(%q) = %v, want valid=%v", tt.name, err, tt.valid)
			}
			if err != nil && !strings.Contains(err.Error(), "NAMESPACE.NAME") {
				t.Fatalf("error %q does not say what a valid name looks like", err)
			}
		})
	}
}

func TestSubjectsAndNames(t *testing.T) {
	tests := []struct {
		table                           string
		task, batch, event, cons, stkey string
	}{
		{"dynamodb.orders", "floe.tasks.dynamodb-orders", "floe.batches.dynamodb-orders", "floe.events.dynamodb-orders", "committer_dynamodb-orders", "dynamodb-orders"},
		{"A.b", "floe.tasks.A-b", "floe.batches.A-b", "floe.events.A-b", "committer_A-b", "A-b"},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			for _, c := range []struct{ what, got, want string }{
				{"TaskSubject", TaskSubject(tt.table), tt.task},
				{"BatchSubject", BatchSubject(tt.table), tt.batch},
				{"EventSubject", EventSubject(tt.table), tt.event},
				{"CommitterConsumer", CommitterConsumer(tt.table), tt.cons},
				{"StateKey", StateKey(tt.table), tt.stkey},
			} {
				if c.got != c.want {
					t.Errorf("%s(%q) = %q, want %q", c.what, tt.table, c.got, c.want)
				}
			}
		})
	}
}

// tablesForNames are valid, pairwise distinct table names, some differing
// only in case or in where the underscores are.
var tablesForNames = []string{
	"dynamodb.orders", "dynamodb.Orders", "Dynamodb.orders", "ddb.orders", "dynamo.dborders",
	"a.b", "a.bc", "ab.c", "a_.b", "a._b", "a__b.c", "a.b__c", "a_b.c", "a.b_c", "_.x", "x._",
}

// TestSubjectsStayInsideTheirStream checks every name of a valid table is
// usable as it is: subjects are the stream's prefix plus exactly one token,
// and consumer names and KV keys carry no dots or wildcards.
func TestSubjectsStayInsideTheirStream(t *testing.T) {
	for _, table := range tablesForNames {
		if err := ValidateTable(table); err != nil {
			t.Fatalf("test table %q is not valid: %v", table, err)
		}
		for prefix, subj := range map[string]string{
			"floe.tasks.": TaskSubject(table), "floe.batches.": BatchSubject(table), "floe.events.": EventSubject(table),
		} {
			tok, ok := strings.CutPrefix(subj, prefix)
			if !ok || tok == "" || strings.ContainsAny(tok, ".*> \t") {
				t.Errorf("subject %q of table %q is not %s<one token>", subj, table, prefix)
			}
		}
		for _, name := range []string{CommitterConsumer(table), StateKey(table)} {
			if name == "" || strings.ContainsAny(name, ".*> \t/\\") {
				t.Errorf("name %q of table %q is not a valid consumer name / KV key", name, table)
			}
		}
	}
}

// TestTableNamesNeverCollide: two different tables must never share a
// subject, a committer consumer or a state key, or their committers would
// consume each other's batches and overwrite each other's state.
func TestTableNamesNeverCollide(t *testing.T) {
	fns := []struct {
		name string
		fn   func(string) string
	}{
		{"TaskSubject", TaskSubject}, {"BatchSubject", BatchSubject}, {"EventSubject", EventSubject},
		{"CommitterConsumer", CommitterConsumer}, {"StateKey", StateKey},
	}
	for _, f := range fns {
		seen := map[string]string{}
		for _, table := range tablesForNames {
			got := f.fn(table)
			if prev, ok := seen[got]; ok {
				t.Errorf("%s: tables %q and %q both map to %q", f.name, prev, table, got)
			}
			seen[got] = table
		}
	}
	// The subjects of different tables must not overlap under the
	// stream's wildcard either.
	if TaskSubject("a.b") == BatchSubject("a.b") || BatchSubject("a.b") == EventSubject("a.b") {
		t.Error("a table's task, batch and event subjects must differ")
	}
}

// startServer runs an embedded server for the test and returns a
// JetStream context on a connection to it.
func startServer(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	ns, err := StartEmbedded(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	nc, err := ConnectEmbedded(ns, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if got := nc.MaxPayload(); got != EmbeddedMaxPayload {
		t.Fatalf("embedded server max payload %d, want %d", got, EmbeddedMaxPayload)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSetup(t *testing.T) {
	ctx := testContext(t)
	_, js := startServer(t)
	cfgs := []Config{
		{DuplicateWindow: time.Hour, MaxBatchBytes: 256 << 20}, // Replicas 0: defaults to 1
		// Again, with other limits: Setup updates the streams in place.
		{DuplicateWindow: 2 * time.Minute, MaxBatchBytes: 1 << 20, Replicas: 1},
		// And once more unchanged.
		{DuplicateWindow: 2 * time.Minute, MaxBatchBytes: 1 << 20, Replicas: 1},
	}
	for i, cfg := range cfgs {
		if err := Setup(ctx, js, cfg); err != nil {
			t.Fatalf("Setup #%d: %v", i+1, err)
		}
		tests := []struct {
			stream    string
			subject   string
			maxBytes  int64
			discard   jetstream.DiscardPolicy
			checkDisc bool
		}{
			{TasksStream, "floe.tasks.>", -1, 0, false},
			{BatchesStream, "floe.batches.>", cfg.MaxBatchBytes, jetstream.DiscardNew, true},
		}
		for _, tt := range tests {
			s, err := js.Stream(ctx, tt.stream)
			if err != nil {
				t.Fatalf("Setup #%d: stream %s: %v", i+1, tt.stream, err)
			}
			c := s.CachedInfo().Config
			if len(c.Subjects) != 1 || c.Subjects[0] != tt.subject {
				t.Errorf("Setup #%d: %s subjects %v, want [%s]", i+1, tt.stream, c.Subjects, tt.subject)
			}
			if c.Retention != jetstream.WorkQueuePolicy {
				t.Errorf("Setup #%d: %s retention %v, want work queue", i+1, tt.stream, c.Retention)
			}
			if c.Duplicates != cfg.DuplicateWindow {
				t.Errorf("Setup #%d: %s duplicate window %v, want %v", i+1, tt.stream, c.Duplicates, cfg.DuplicateWindow)
			}
			if c.MaxBytes != tt.maxBytes {
				t.Errorf("Setup #%d: %s max bytes %d, want %d", i+1, tt.stream, c.MaxBytes, tt.maxBytes)
			}
			if tt.checkDisc && c.Discard != tt.discard {
				t.Errorf("Setup #%d: %s discard %v, want %v", i+1, tt.stream, c.Discard, tt.discard)
			}
			if c.Storage != jetstream.FileStorage || c.Replicas != 1 {
				t.Errorf("Setup #%d: %s storage %v replicas %d, want file storage, 1 replica", i+1, tt.stream, c.Storage, c.Replicas)
			}
		}
		kv, err := js.KeyValue(ctx, StateBucket)
		if err != nil {
			t.Fatalf("Setup #%d: kv %s: %v", i+1, StateBucket, err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Bucket() != StateBucket || st.History() != 1 {
			t.Errorf("Setup #%d: kv bucket %q history %d, want %q history 1", i+1, st.Bucket(), st.History(), StateBucket)
		}
	}
}

// TestSetupKeepsMessages: a second Setup (every floe process runs it on
// start) must not lose what the streams and the bucket hold.
func TestSetupKeepsMessages(t *testing.T) {
	ctx := testContext(t)
	_, js := startServer(t)
	if err := Setup(ctx, js, DefaultConfig); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, TaskSubject("ddb.orders"), []byte("task")); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, StateKey("ddb.orders"), []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := Setup(ctx, js, DefaultConfig); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, TasksStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("%s holds %d messages after a second Setup, want 1", TasksStream, info.State.Msgs)
	}
	e, err := kv.Get(ctx, StateKey("ddb.orders"))
	if err != nil || string(e.Value()) != "state" {
		t.Errorf("state after a second Setup: %v, %v", e, err)
	}
}

func TestSetupDeduplicates(t *testing.T) {
	ctx := testContext(t)
	_, js := startServer(t)
	if err := Setup(ctx, js, DefaultConfig); err != nil {
		t.Fatal(err)
	}
	id := BatchMsgID("01704067500000-a1b2c3d4", "1a2b3c4d", 0, 0)
	tests := []struct {
		stream, subject string
		ids             []string
		wantMsgs        uint64 // in the stream after this case
		wantDup         []bool
	}{
		{BatchesStream, BatchSubject("ddb.orders"), []string{id, id}, 1, []bool{false, true}},
		// The window is per stream, not per subject: ids must be unique
		// across tables, which is why they carry the export and attempt.
		{BatchesStream, BatchSubject("ddb.other"), []string{id, id + "x"}, 2, []bool{true, false}},
		{TasksStream, TaskSubject("ddb.orders"), []string{"t/1", "t/1", "t/2", "t/1"}, 2, []bool{false, true, false, true}},
	}
	for _, tt := range tests {
		for i, id := range tt.ids {
			m := nats.NewMsg(tt.subject)
			m.Header.Set(jetstream.MsgIDHeader, id)
			m.Data = []byte(fmt.Sprint("payload ", i))
			ack, err := js.PublishMsg(ctx, m)
			if err != nil {
				t.Fatalf("%s publish %d: %v", tt.subject, i, err)
			}
			if ack.Duplicate != tt.wantDup[i] {
				t.Errorf("%s publish %d (id %s): duplicate=%v, want %v", tt.subject, i, id, ack.Duplicate, tt.wantDup[i])
			}
		}
		s, err := js.Stream(ctx, tt.stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != tt.wantMsgs {
			t.Errorf("after publishing to %s: %s holds %d messages, want %d", tt.subject, tt.stream, info.State.Msgs, tt.wantMsgs)
		}
	}
}

// TestSetupBackPressure: a full batch stream refuses new messages (discard
// new) rather than dropping old ones.
func TestSetupBackPressure(t *testing.T) {
	ctx := testContext(t)
	_, js := startServer(t)
	const limit = 16 << 10
	if err := Setup(ctx, js, Config{DuplicateWindow: time.Minute, MaxBatchBytes: limit}); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1<<10)
	var refused error
	published := 0
	for i := range 64 {
		m := nats.NewMsg(BatchSubject("ddb.orders"))
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprint("b/", i))
		m.Data = payload
		if _, err := js.PublishMsg(ctx, m); err != nil {
			refused = err
			break
		}
		published++
	}
	if refused == nil {
		t.Fatalf("64 KiB published into a %d-byte stream without an error", limit)
	}
	if !errors.Is(refused, jetstream.ErrMaxBytesExceeded) && !strings.Contains(refused.Error(), "maximum bytes exceeded") {
		t.Errorf("publish into a full stream failed with %v, want maximum bytes exceeded", refused)
	}
	s, err := js.Stream(ctx, BatchesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > limit {
		t.Errorf("stream holds %d bytes, over its %d limit", info.State.Bytes, limit)
	}
	if info.State.Msgs != uint64(published) || info.State.FirstSeq != 1 {
		t.Errorf("stream holds %d messages from seq %d, want all %d accepted ones from seq 1 (discard new keeps old messages)",
			info.State.Msgs, info.State.FirstSeq, published)
	}
}
