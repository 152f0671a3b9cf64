package committer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/natsbus"
)

// MergeMode is how an incremental export's changes are written into the
// table. Every mode gives the same table contents; they differ in what
// the commit writes and what readers must do (see RATIONALE.md, "Merge
// modes").
type MergeMode string

const (
	// MergeOnRead writes the replaced rows' positions: position delete
	// files in format v2, deletion vectors in v3. Every engine reads them.
	// It is the default.
	MergeOnRead MergeMode = "merge-on-read"
	// EqualityDeletes writes the export's keys into equality delete files,
	// without reading the table: the cheapest commit. Some engines refuse
	// or mishandle equality deletes (Snowflake, DuckDB, PyIceberg).
	EqualityDeletes MergeMode = "equality-deletes"
	// CopyOnWrite rewrites the data files that hold changed keys: the
	// dearest commit, and a table without delete files.
	CopyOnWrite MergeMode = "copy-on-write"
)

// MergeModes lists the modes, the default first.
var MergeModes = []MergeMode{MergeOnRead, EqualityDeletes, CopyOnWrite}

// PropMergeMode is the table property that records a table's merge mode.
// A committer given no mode uses it; one given a mode records it with
// its next commit.
const PropMergeMode = "floe.merge-mode"

// MarkerMergeMode records, in an incremental export's snapshot, the mode
// its merge was written in.
const MarkerMergeMode = "floe.merge-mode"

// ParseMergeMode checks a --merge-mode value; "" means the table's own.
func ParseMergeMode(s string) (MergeMode, error) {
	if s == "" || slices.Contains(MergeModes, MergeMode(s)) {
		return MergeMode(s), nil
	}
	names := make([]string, len(MergeModes))
	for i, m := range MergeModes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("merge mode %q: want one of %s", s, strings.Join(names, ", "))
}

// tableMergeMode is the mode a table records, or the default.
func tableMergeMode(tbl *table.Table) MergeMode {
	if tbl != nil {
		if m, err := ParseMergeMode(tbl.Properties()[PropMergeMode]); err == nil && m != "" {
			return m
		}
	}
	return MergeOnRead
}

// mergeMode is the mode the next commit writes in: the committer's
// option, else the table's.
func (c *Committer) mergeMode() MergeMode {
	if c.mode != "" {
		return c.mode
	}
	return tableMergeMode(c.tbl)
}

// exportMergeMode is the mode an export's merge is written in. A replay
// of dead letters is outside the chain of exports: its changes may be
// older than rows the table holds, which only a merge that reads the
// table can tell, so equality deletes fall back to merge-on-read for it.
func (c *Committer) exportMergeMode(p *pending) MergeMode {
	m := c.mergeMode()
	if m == EqualityDeletes && p.Plan.ExportType == natsbus.TypeReplay {
		return MergeOnRead
	}
	return m
}

// checkEqualityDeletes refuses equality deletes on a table partitioned by
// a column outside the key: an update may move a row to another
// partition, where an equality delete written beside the new row would
// not reach the old one.
func checkEqualityDeletes(table string, sch *iceberg.Schema, spec *iceberg.PartitionSpec, keys []string) error {
	for _, f := range spec.Fields() {
		for _, id := range f.SourceIDs {
			name, _ := sch.FindColumnName(id)
			if !slices.Contains(keys, name) {
				return fmt.Errorf("merge mode %s: table %s is partitioned by %s, which is not a key column; an equality delete only reaches rows of its own partition, so an update that moves a row would leave the old one. Use merge-on-read or copy-on-write, or partition by key columns only (e.g. bucket(16,pk))", EqualityDeletes, table, name)
			}
		}
	}
	return nil
}
