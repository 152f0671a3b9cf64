package main_test

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/schema"
)

// TestSampleMissesLateDrift puts what a sample cannot see at the end of
// the largest data file (an attribute no earlier item has, an integer
// attribute turning fractional, a map gaining a key), loads it with a
// small schema sample, and checks that floe notices, loads the export
// again, and ends with exactly the types `floe schema detect` finds over
// every item, nothing rescued and one snapshot.
func TestSampleMissesLateDrift(t *testing.T) {
	quantity := regexp.MustCompile(`"quantity":\{"N":"[0-9]+"\}`)
	for _, tc := range []struct {
		name string
		edit func(line string) string
	}{
		{"late attribute", func(l string) string { return strings.Replace(l, `{"Item":{`, `{"Item":{"lateNote":{"S":"late"},`, 1) }},
		{"integer turns fractional", func(l string) string { return quantity.ReplaceAllString(l, `"quantity":{"N":"2.5"}`) }},
		{"map gains a key", func(l string) string {
			return strings.Replace(l, `"address":{"M":{`, `"address":{"M":{"floor":{"N":"3"},`, 1)
		}},
		{"no drift", func(l string) string { return l }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			gen, err := exportgen.Generate(context.Background(), exportgen.Options{Dir: root, Items: 900, Files: 3, Seed: 31, SkipExpected: true})
			if err != nil {
				t.Fatal(err)
			}
			dir := gen.Full.Dir
			var before, after string
			rewriteData(t, root, dir, func(lines []string) []string {
				last := len(lines) - 1
				before = lines[last]
				lines[last] = tc.edit(lines[last])
				after = lines[last]
				return lines
			})
			drift := before != after
			if tc.name != "no drift" && !drift {
				t.Fatalf("the edit changed nothing in %s", before)
			}
			wh := t.TempDir()
			code, out, stderr := floe(t, "run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk",
				"--progress", "never", "--schema-sample", "50")
			if code != 0 {
				t.Fatalf("run: exit %d\n%s", code, stderr)
			}
			if got := strings.Contains(stderr, "loading it again"); got != drift {
				t.Errorf("loaded again: %v, want %v\n%s", got, drift, stderr)
			}
			if !strings.Contains(out, "900 rows") || !strings.Contains(out, "0 values rescued") {
				t.Errorf("run output:\n%s", out)
			}
			code, detected, stderr := floe(t, "schema", "detect", "--export", dir, "--key", "pk,sk")
			if code != 0 {
				t.Fatalf("schema detect: exit %d\n%s", code, stderr)
			}
			want, err := schema.Parse([]byte(detected), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, info, _ := floe(t, "table", "info", "--warehouse", wh, "--table", "ddb.orders", "--json")
			var ti struct {
				Properties map[string]string `json:"properties"`
				Snapshots  []json.RawMessage `json:"snapshots"`
			}
			if err := json.Unmarshal([]byte(info), &ti); err != nil {
				t.Fatal(err)
			}
			got, err := schema.Parse([]byte(ti.Properties[committer.PropSchema]), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Fields) != len(want.Fields) {
				t.Errorf("table has %d attributes, full detection %d", len(got.Fields), len(want.Fields))
			}
			for _, w := range want.Fields {
				if g := got.Field(w.Name); g == nil || !reflect.DeepEqual(g.Type, w.Type) || g.Column != w.Column {
					t.Errorf("attribute %s: table %+v, full detection %+v", w.Name, g, w)
				}
			}
			if len(ti.Snapshots) != 1 {
				t.Errorf("%d snapshots, want 1", len(ti.Snapshots))
			}
		})
	}
}
