package committer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/schema"
)

// Snapshot summary keys of the commit marker, and table properties floe
// keeps.
const (
	MarkerExportID   = "floe.export-id"
	MarkerAttempt    = "floe.attempt"
	MarkerExportType = "floe.export-type"
	MarkerExportTime = "floe.export-time"
	MarkerStreamSeq  = "floe.stream-seq"
	MarkerStreamID   = "floe.stream-id"
	MarkerCommitID   = "floe.commit-id"
	MarkerItems      = "floe.items"
	MarkerRescued    = "floe.rescued"
	// Incremental exports only: the window, the view, and what the merge
	// applied (see merge.go).
	MarkerExportFrom  = "floe.export-from-time"
	MarkerExportTo    = "floe.export-to-time"
	MarkerExportView  = "floe.export-view"
	MarkerUpserts     = "floe.upserts"
	MarkerDeletes     = "floe.deletes"
	MarkerStale       = "floe.stale"
	MarkerDeletedRows = "floe.deleted-rows"
	// With plugins: the chain (plugins.Identity) and what became of the
	// export's items: kept + dropped + failed = the items read.
	MarkerPlugins = "floe.plugins"
	MarkerKept    = "floe.kept"
	MarkerDropped = "floe.dropped"
	MarkerFailed  = "floe.failed"

	// PropSchema holds the floe schema (see package schema) so every later
	// export converts attributes exactly as the first did.
	PropSchema   = "floe.schema"
	PropTableArn = "floe.table-arn"
	// PropColumnNames is the column naming mode (as-is or sanitize) the
	// table was created with; columns added later follow it.
	PropColumnNames = "floe.column-names"
)

// Applied lists the exports already in a table, from the commit markers in
// the snapshot ancestry of its current snapshot, newest first. Markers of
// expired snapshots are gone (see covered).
func Applied(tbl *table.Table) []map[string]string {
	out, _ := ancestry(tbl)
	return out
}

// ancestry returns the markers of the current snapshot's ancestry, newest
// first, and whether the ancestry is cut short: an ancestor has been
// expired.
func ancestry(tbl *table.Table) (markers []map[string]string, cut bool) {
	meta := tbl.Metadata()
	for snap := meta.CurrentSnapshot(); snap != nil; {
		if snap.Summary != nil {
			if _, ok := snap.Summary.Properties[MarkerExportID]; ok {
				markers = append(markers, snap.Summary.Properties)
			}
		}
		if snap.ParentSnapshotID == nil {
			break
		}
		if snap = meta.SnapshotByID(*snap.ParentSnapshotID); snap == nil {
			cut = true
		}
	}
	return markers, cut
}

// covered reports whether an export the table shows no marker of is one
// whose marker may have been expired (floe maintain): the table's history
// is cut, and the export ends no later than the changes the table holds.
// Either way the table holds a newer state than the export brings, so it
// is skipped like an applied one.
func covered(tbl *table.Table, plan *natsbus.Plan) bool {
	if tbl == nil || plan.ExportType == natsbus.TypeReplay {
		return false
	}
	markers, cut := ancestry(tbl)
	if !cut {
		return false
	}
	for _, m := range markers {
		if m[MarkerExportType] == natsbus.TypeReplay {
			continue
		}
		end, err := chainEnd(m)
		if err != nil {
			return false
		}
		ends := plan.ExportTime
		if plan.ExportType == export.TypeIncremental {
			ends = plan.ExportToTime
		}
		return !ends.After(end)
	}
	return false
}

// chainEnd is the time up to which a table holds the DynamoDB table's
// changes, from its newest marker: a full export's exportTime or an
// incremental export's exportToTime.
func chainEnd(newest map[string]string) (time.Time, error) {
	k := MarkerExportTime
	if newest[MarkerExportType] == export.TypeIncremental {
		k = MarkerExportTo
	}
	t, err := time.Parse(time.RFC3339Nano, newest[k])
	if err != nil {
		return t, fmt.Errorf("snapshot marker of export %s: %s: %w", newest[MarkerExportID], k, err)
	}
	return t, nil
}

func isApplied(tbl *table.Table, exportID string) bool {
	if tbl == nil {
		return false
	}
	for _, m := range Applied(tbl) {
		if m[MarkerExportID] == exportID {
			return true
		}
	}
	return false
}

// loadTable returns the table, or nil when it does not exist.
func (c *Committer) loadTable(ctx context.Context) (*table.Table, error) {
	tbl, err := c.cat.LoadTable(ctx, c.ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading table %s: %w", c.table, err)
	}
	return tbl, nil
}

// tableSchema reads the floe schema a table was created with.
func tableSchema(tbl *table.Table) (*schema.Schema, error) {
	raw, ok := tbl.Properties()[PropSchema]
	if !ok {
		return nil, fmt.Errorf("table has no %s property: it was not created by floe; load into a new table", PropSchema)
	}
	s, err := schema.Parse([]byte(raw), nil)
	if err != nil {
		return nil, fmt.Errorf("table property %s: %w", PropSchema, err)
	}
	return s, nil
}

func (c *Committer) createTable(ctx context.Context, s *schema.Schema, p *planOpts) (*table.Table, error) {
	ice, err := s.Iceberg()
	if err != nil {
		return nil, err
	}
	spec, err := partitionSpec(ice, s, p.partitionBy)
	if err != nil {
		return nil, err
	}
	mode := c.mergeMode()
	if mode == EqualityDeletes {
		if err := checkEqualityDeletes(c.table, ice, spec, keyColumnNames(s)); err != nil {
			return nil, err
		}
	}
	sj, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	props := iceberg.Properties{
		PropMergeMode:                     string(mode),
		PropSchema:                        string(sj),
		"format-version":                  strconv.Itoa(p.formatVersion),
		"write.parquet.compression-codec": "zstd",
	}
	if p.tableArn != "" {
		props[PropTableArn] = p.tableArn
	}
	props[PropColumnNames] = string(schema.ColumnsAsIs)
	if p.columnNames != "" {
		props[PropColumnNames] = p.columnNames
	}
	if p.targetFileSize > 0 {
		props[table.WriteTargetFileSizeBytesKey] = strconv.FormatInt(p.targetFileSize, 10)
	}
	ns := catalog.NamespaceFromIdent(c.ident)
	if err := c.cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return nil, fmt.Errorf("creating namespace %s: %w", strings.Join(ns, "."), err)
	}
	tbl, err := c.cat.CreateTable(ctx, c.ident, ice, catalog.WithPartitionSpec(spec), catalog.WithProperties(props))
	if err != nil {
		return nil, fmt.Errorf("creating table %s: %w", c.table, err)
	}
	c.log.Info("created table", "location", tbl.Location(), "columns", len(ice.Fields()), "formatVersion", p.formatVersion, "partitionBy", p.partitionBy, "mergeMode", mode)
	return tbl, nil
}

type planOpts struct {
	partitionBy    []string
	formatVersion  int
	targetFileSize int64
	tableArn       string
	columnNames    string
}

var transformExpr = regexp.MustCompile(`^\s*([a-z]+)\s*\(\s*(?:(\d+)\s*,\s*)?([^()]+?)\s*\)\s*$`)

// ParsePartitionField parses one --partition-by entry: a column name
// (identity) or an Iceberg transform such as bucket(16,pk), truncate(4,sk),
// year(col), month(col), day(col), hour(col), identity(col). It returns
// the Iceberg transform text and the source column.
func ParsePartitionField(expr string) (transform, column string, err error) {
	m := transformExpr.FindStringSubmatch(expr)
	if m == nil {
		col := strings.TrimSpace(expr)
		if col == "" || strings.ContainsAny(col, "(),") {
			return "", "", fmt.Errorf("partition field %q: want COLUMN or TRANSFORM(COLUMN) such as bucket(16,pk)", expr)
		}
		return "identity", col, nil
	}
	name, n, col := m[1], m[2], m[3]
	switch name {
	case "bucket", "truncate":
		if n == "" {
			return "", "", fmt.Errorf("partition field %q: %s needs a width, e.g. %s(16,%s)", expr, name, name, col)
		}
		return name + "[" + n + "]", col, nil
	case "identity", "year", "month", "day", "hour", "void":
		if n != "" {
			return "", "", fmt.Errorf("partition field %q: %s takes only a column", expr, name)
		}
		return name, col, nil
	}
	return "", "", fmt.Errorf("partition field %q: unknown transform %q (want bucket, truncate, identity, year, month, day, hour)", expr, name)
}

func partitionSpec(ice *iceberg.Schema, s *schema.Schema, exprs []string) (*iceberg.PartitionSpec, error) {
	var fields []iceberg.PartitionField
	seen := map[string]bool{}
	for i, e := range exprs {
		tr, col, err := ParsePartitionField(e)
		if err != nil {
			return nil, err
		}
		// Accept the attribute name as well as the column name.
		if f := s.Field(col); f != nil {
			col = f.Column
		}
		src, ok := ice.FindFieldByName(col)
		if !ok {
			return nil, fmt.Errorf("partition field %q: no column %q in the table", e, col)
		}
		t, err := iceberg.ParseTransform(tr)
		if err != nil {
			return nil, fmt.Errorf("partition field %q: %w", e, err)
		}
		if !t.CanTransform(src.Type) {
			return nil, fmt.Errorf("partition field %q: %s cannot apply to column %q of type %s", e, tr, col, src.Type)
		}
		name := col + "_" + strings.TrimSuffix(strings.ReplaceAll(strings.ReplaceAll(tr, "[", "_"), "]", ""), "_")
		if tr == "identity" {
			name = col
		}
		if seen[name] {
			return nil, fmt.Errorf("partition field %q is given twice", e)
		}
		seen[name] = true
		fields = append(fields, iceberg.PartitionField{SourceIDs: []int{src.ID}, FieldID: 1000 + i, Name: name, Transform: t})
	}
	spec := iceberg.NewPartitionSpec(fields...)
	return &spec, nil
}
