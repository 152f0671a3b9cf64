package runner_test

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/runner"
	"github.com/floe-io/floe/internal/schema"
)

// TestSampledSchema loads generated full exports with the schema decided
// from samples of several sizes, in one pass when the sample suffices,
// and checks that the table's types are exactly those full detection
// (floe schema detect) gives, and its rows the expected ones. The
// generator puts its edge cases early in each file, so most samples see
// them; a sample of one item a file must miss something and load again.
func TestSampledSchema(t *testing.T) {
	cases := []struct {
		name   string
		opts   exportgen.Options
		sample int64
		// reload: whether the export must be loaded a second time
		// (true), must not (false); nil leaves it open.
		reload *bool
	}{
		{name: "json-default-sample", opts: exportgen.Options{Items: 4000, Files: 3, Seed: 21}, reload: ptr(false)},
		{name: "json-edge-small-sample", opts: exportgen.Options{Items: 4000, Files: 3, Seed: 22, Edge: true}, sample: 30},
		// One item a file cannot see the optional attributes.
		{name: "json-one-item-sample", opts: exportgen.Options{Items: 3000, Files: 3, Seed: 26, Edge: true}, sample: 1, reload: ptr(true)},
		{name: "ion-edge-sample", opts: exportgen.Options{Items: 3000, Files: 2, Seed: 23, Edge: true, Format: exportgen.FormatIon}, sample: 400},
		{name: "json-many-files", opts: exportgen.Options{Items: 3000, Files: 9, Seed: 24, Edge: true}, sample: 100},
		{name: "json-full-detection", opts: exportgen.Options{Items: 2000, Files: 2, Seed: 25, Edge: true}, sample: natsbus.SchemaSampleAll, reload: ptr(false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			o := tc.opts
			o.Dir = t.TempDir()
			gen, err := exportgen.Generate(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			want, err := planner.Detect(ctx, planner.Options{Table: "ddb.orders", Export: gen.Full.Dir, Key: key}, 2)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			wh := t.TempDir()
			res, err := runner.Run(ctx, runner.Options{
				Plan:    planner.Options{Table: "ddb.orders", Key: key, SchemaSample: tc.sample},
				Exports: []string{gen.Full.Dir}, Warehouse: wh,
				Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) != 1 || res.Events[0].Status != natsbus.StatusCommitted {
				t.Fatalf("events = %+v, want one committed", res.Events)
			}
			reloaded := strings.Contains(logs.String(), "loading it again")
			if tc.reload != nil && reloaded != *tc.reload {
				t.Errorf("loaded again: %v, want %v\n%s", reloaded, *tc.reload, logs.String())
			}
			tbl := loadTable(t, wh)
			got, err := schema.Parse([]byte(tbl.Properties()[committer.PropSchema]), nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := typeDiff(got, want.Schema); d != "" {
				t.Errorf("table types differ from full detection's:\n%s", d)
			}
			compareWithExpected(t, ctx, tbl, gen.Full.ExpectedPath)
			if n := len(tbl.Metadata().Snapshots()); n != 1 {
				t.Errorf("%d snapshots, want 1", n)
			}
			t.Logf("loaded again: %v; %d columns", reloaded, len(got.Fields))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// typeDiff lists the attributes whose column or type differ, or that
// only one schema has; column order does not count.
func typeDiff(got, want *schema.Schema) string {
	var out []string
	for _, w := range want.Fields {
		g := got.Field(w.Name)
		switch {
		case g == nil:
			out = append(out, "missing "+w.Name)
		case g.Column != w.Column || !reflect.DeepEqual(g.Type, w.Type):
			out = append(out, "differs: "+w.Name)
		}
	}
	for _, g := range got.Fields {
		if want.Field(g.Name) == nil {
			out = append(out, "extra "+g.Name)
		}
	}
	return strings.Join(out, "\n")
}
