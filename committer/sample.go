package committer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/schema"
)

// A new table's schema is decided from a sample and checked against the
// whole export, so that its first load reads the export once, not twice
// (see RATIONALE.md, "One pass: a sampled schema, checked"):
//
//  1. Detect tasks read only the first sampleItems items of each file;
//     the schema is decided from their statistics.
//  2. Load tasks load with that schema and gather the statistics of every
//     item as a detect task would, published before each file's final
//     batch and held, un-acked, until the export ends.
//  3. Before the commit, the schema is decided again from the whole
//     export's statistics. If it is the sample's (column order aside),
//     the export commits: its types are exactly those a full detection
//     pass gives. If not, nothing of it is visible yet (a full export is
//     committed atomically): its files are deleted, the new empty table is
//     created again with the full schema, and the export is loaded again,
//     under a new round of message ids.

// sampleItems is how many items of each file a sampling detect task
// reads: what the plan asks for, by default about 20,000 in all and at
// least 500 a file; 0 for a full detection pass.
func sampleItems(plan *natsbus.Plan) int64 {
	switch n := plan.SchemaSample; {
	case n == natsbus.SchemaSampleAll:
		return 0
	case n > 0:
		return n
	}
	return int64(max(500, 20_000/max(len(plan.Files), 1)))
}

// wire is the attempt id of the current round's tasks and batches: the
// plan's attempt, with the round appended after a reload, so that the
// batches of the first round cannot pass for the second's.
func (p *pending) wire() string {
	if p.Round == 0 {
		return p.Plan.Attempt
	}
	return p.Plan.Attempt + "-r" + strconv.Itoa(p.Round+1)
}

// decide decides a new table's schema from merged statistics, with the
// export's unpinned schema file applied over it.
func (c *Committer) decide(root *schema.Stats) (*schema.Schema, []schema.Conflict, error) {
	key := c.cur.Plan.Key
	if c.fileSchema != nil && len(c.fileSchema.Key) > 0 {
		key = c.fileSchema.Key
	}
	s, conflicts, err := schema.Decide(root, key, schema.ColumnNames(c.cur.Plan.ColumnNames))
	if err == nil && c.fileSchema != nil {
		s = schema.Override(s, c.fileSchema)
		schema.AssignColumns(s.Fields, schema.ColumnNames(c.cur.Plan.ColumnNames))
		err = s.Validate()
	}
	if err != nil {
		return nil, nil, err
	}
	schema.SortConflicts(conflicts)
	return s, conflicts, nil
}

// mergedStats merges the statistics of every file, in file order so that
// column order does not depend on timing.
func (c *Committer) mergedStats() *schema.Stats {
	root := &schema.Stats{}
	for _, f := range c.cur.Plan.Files {
		root.Merge(&c.detected[f.Index].stats)
	}
	return root
}

// checkSample decides the schema from the whole export's statistics and
// compares it with the sample's, which the export was loaded with. It
// reports whether the commit must not go on: the export was sent back to
// be loaded again, or failed.
func (c *Committer) checkSample(ctx context.Context) (stop bool, err error) {
	s, conflicts, err := c.decide(c.mergedStats())
	if err != nil {
		return true, c.fail(ctx, err, nil)
	}
	diff := schemaDiff(c.sch, s)
	if diff == "" {
		for _, cf := range conflicts {
			c.log.Warn("type conflict", "detail", cf.String())
		}
		c.log.Info("the whole export confirms the sampled schema", "columns", len(s.Fields), "conflicts", len(conflicts))
		return false, nil
	}
	p := c.cur
	c.log.Warn("the whole export needs another schema than its sample gave; loading it again (nothing of it was committed)", "differences", diff)
	// Nothing of the first round is kept. Its files go before the state
	// forgets them; a crash before the save below redoes this check.
	c.deleteFiles(ctx, p)
	c.purgeDeadLetters(ctx, p.Plan.ExportID, p.wire())
	sj, err := json.Marshal(s)
	if err != nil {
		return true, err
	}
	next := &pending{Plan: p.Plan, Phase: phaseLoad, Schema: sj, Files: make(map[int]*fileState, len(p.Files)),
		Round: p.Round + 1, Recreate: true, MaxSeq: p.MaxSeq}
	for i := range p.Files {
		next.Files[i] = &fileState{Batches: -1}
	}
	if err := c.state.save(ctx, next); err != nil {
		return true, err
	}
	c.cur, c.sch = next, s
	c.ackHeld()
	c.detected = map[int]*detectResult{}
	for _, cf := range conflicts {
		c.log.Warn("type conflict", "detail", cf.String())
	}
	return true, c.recreate(ctx)
}

// recreate drops the empty table the first round created with the
// sample's schema and loads the export into a new one with the full
// schema. It is redone after a crash until the state says it is done.
func (c *Committer) recreate(ctx context.Context) error {
	if c.tbl != nil {
		if s := c.tbl.CurrentSnapshot(); s != nil {
			return fmt.Errorf("table %s was to be created anew for export %s, but it holds snapshot %d: another writer committed to it; drop the table and the state key %s, then rerun", c.table, c.cur.Plan.ExportID, s.SnapshotID, c.state.key)
		}
		if err := c.cat.DropTable(ctx, c.ident); err != nil {
			return fmt.Errorf("dropping table %s to create it with the full schema: %w", c.table, err)
		}
		c.tbl = nil
	}
	if err := c.enterLoad(ctx); err != nil {
		return err
	}
	c.cur.Recreate = false
	if err := c.state.save(ctx, c.cur); err != nil {
		return err
	}
	return c.publishTasks(ctx)
}

// schemaDiff describes how two schemas differ in their attributes'
// columns and types, "" if they do not; column order does not count.
func schemaDiff(sample, full *schema.Schema) string {
	var out []string
	for _, f := range full.Fields {
		g := sample.Field(f.Name)
		switch {
		case g == nil:
			out = append(out, fmt.Sprintf("%q is new", f.Name))
		case g.Column != f.Column:
			out = append(out, fmt.Sprintf("%q is column %q, not %q", f.Name, f.Column, g.Column))
		case !reflect.DeepEqual(g.Type, f.Type):
			out = append(out, fmt.Sprintf("%q is %s, not %s", f.Name, typeText(f.Type), typeText(g.Type)))
		}
	}
	for _, g := range sample.Fields {
		if full.Field(g.Name) == nil {
			out = append(out, fmt.Sprintf("%q is gone", g.Name))
		}
	}
	return strings.Join(out, "; ")
}

func typeText(t schema.Type) string {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Sprint(t)
	}
	return string(b)
}
