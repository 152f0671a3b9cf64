package committer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/floe-io/floe/internal/schema"
)

// evolve adds a column for every top-level attribute an incremental
// export brings that the table has no column for, typed from the
// export's statistics by the same mapping as a full load. Attributes the
// table has keep their column type; values that do not fit it are
// rescued, as in a full load. A pinned schema never evolves.
//
// The schema change is a metadata-only commit before the export's rows
// are written (it adds no snapshot); redoing it after a crash finds the
// columns there and adds nothing.
func (c *Committer) evolve(ctx context.Context, root *schema.Stats) error {
	if c.sch.Pinned {
		return nil
	}
	for _, k := range c.sch.Key {
		if root.Fields[k] == nil {
			return nil // deletes only: nothing to learn
		}
	}
	mode := c.columnNames()
	det, conflicts, err := schema.Decide(root, c.sch.Key, mode)
	if err != nil {
		return err
	}
	ext := schema.Override(det, c.sch)
	schema.AssignColumns(ext.Fields, mode)
	var added, names []string
	for _, f := range ext.Fields {
		if c.sch.Field(f.Name) == nil {
			added, names = append(added, f.Column), append(names, f.Name)
		}
	}
	if len(added) == 0 {
		return nil
	}
	schema.SortConflicts(conflicts)
	for _, cf := range conflicts {
		for _, n := range names {
			if cf.Path == n || strings.HasPrefix(cf.Path, n+".") {
				c.log.Warn("type conflict", "detail", cf.String())
				break
			}
		}
	}
	if err := ext.Validate(); err != nil {
		return err
	}
	ice, err := ext.Iceberg()
	if err != nil {
		return err
	}
	sj, err := json.Marshal(ext)
	if err != nil {
		return err
	}
	tx := c.tbl.NewTransaction()
	if err := tx.UpdateSchema(true, false).UnionByNameWith(ice).Commit(); err != nil {
		return fmt.Errorf("adding columns %v to table %s: %w", added, c.table, err)
	}
	if err := tx.SetProperties(iceberg.Properties{PropSchema: string(sj)}); err != nil {
		return err
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		return fmt.Errorf("adding columns %v to table %s: %w", added, c.table, err)
	}
	c.tbl, c.sch = tbl, ext
	c.log.Info("schema evolved: new attributes became columns", "columns", added)
	return nil
}

// columnNames is the table's column naming mode, recorded when it was
// created; for tables from before that property, sanitize if a column
// name is the sanitized form of a different attribute name.
func (c *Committer) columnNames() schema.ColumnNames {
	if m := c.tbl.Properties()[PropColumnNames]; m != "" {
		return schema.ColumnNames(m)
	}
	for _, f := range c.sch.Fields {
		if f.Column != f.Name && f.Column == schema.Sanitize(f.Name) {
			return schema.ColumnsSanitize
		}
	}
	return schema.ColumnsAsIs
}
