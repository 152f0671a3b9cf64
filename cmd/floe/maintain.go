package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/internal/maintain"
)

type maintainCmd struct {
	Warehouse  string        `help:"Local warehouse directory (holds catalog.db)." required:"" placeholder:"PATH"`
	Table      string        `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	OlderThan  time.Duration `help:"Expire snapshots, and remove files no snapshot references, older than this (Go duration: 72h, 30m). Orphan removal needs at least 1h: younger files may belong to an export a committer is loading." default:"72h"`
	RetainLast int           `help:"Keep at least this many of the newest snapshots whatever their age. The snapshots back to the newest floe marker are always kept." default:"1"`
	Skip       []string      `help:"Tasks to skip: compact, expire, orphans." enum:"compact,expire,orphans" placeholder:"TASK"`
	DryRun     bool          `help:"Print what would be done; change nothing."`
}

func (m *maintainCmd) Help() string {
	return `Runs three tasks, in this order, safely beside a running floe run or committer:

  compact  rewrites every data file that has deletes, and the small files of a partition together, into files of the table's target size with the deletes folded in (one snapshot)
  expire   expires snapshots older than --older-than, keeping the newest --retain-last and all back to the newest floe marker
  orphans  removes files under the table's location that no snapshot references and that are older than --older-than

Commits use compare-and-set and start over when a committer commits first.

Examples:
  floe maintain --warehouse ./lake --table shop.orders --dry-run
  floe maintain --warehouse ./lake --table shop.orders --older-than 168h --retain-last 10`
}

func (m *maintainCmd) Run(ctx context.Context, g *globals) error {
	cat, _, closeCat, err := openTable(ctx, m.Warehouse, m.Table)
	if err != nil {
		return err
	}
	defer closeCat()
	rep, err := maintain.Run(ctx, cat, icecat.ToIdentifier(m.Table), maintain.Options{
		OlderThan:  m.OlderThan,
		RetainLast: m.RetainLast,
		Compact:    !slices.Contains(m.Skip, "compact"),
		Expire:     !slices.Contains(m.Skip, "expire"),
		Orphans:    !slices.Contains(m.Skip, "orphans"),
		DryRun:     m.DryRun,
		Log:        g.log,
	})
	if rep != nil {
		m.print(os.Stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("table %s: %w", m.Table, err)
	}
	return nil
}

// print writes the report: one line per task, then what it touched.
func (m *maintainCmd) print(w io.Writer, rep *maintain.Report) {
	verb := func(done, would string) string {
		if m.DryRun {
			return would
		}
		return done
	}
	if c := rep.Compaction; !slices.Contains(m.Skip, "compact") {
		fmt.Fprintf(w, "%s %d data files (%.1f MB) with %d delete files in %d groups", verb("compacted", "would compact"), c.InputFiles, float64(c.InputBytes)/1e6, c.DeleteFiles, c.Groups)
		if !m.DryRun && c.InputFiles > 0 {
			fmt.Fprintf(w, " into %d files; %d delete files removed", c.OutputFiles, c.RemovedDeleteFiles)
		}
		fmt.Fprintf(w, " (target file size %.0f MB)\n", float64(c.TargetFileSize)/1e6)
	}
	if !slices.Contains(m.Skip, "expire") {
		fmt.Fprintf(w, "%s %d snapshots older than %v", verb("expired", "would expire"), len(rep.Expired), m.OlderThan)
		if rep.MarkerSnapshot != 0 {
			fmt.Fprintf(w, " (kept: the newest %d, and all back to snapshot %d, which holds the newest floe marker)", m.RetainLast, rep.MarkerSnapshot)
		}
		fmt.Fprintln(w)
		for _, s := range rep.Expired {
			fmt.Fprintf(w, "  snapshot %d  %s", s.ID, s.Time.Format(time.RFC3339))
			if s.Export != "" {
				fmt.Fprintf(w, "  export %s", s.Export)
			}
			fmt.Fprintln(w)
		}
	}
	if !slices.Contains(m.Skip, "orphans") {
		fmt.Fprintf(w, "%s %d orphan files (%.1f MB) older than %v\n", verb("removed", "would remove"), len(rep.Orphans), float64(rep.OrphanBytes)/1e6, m.OlderThan)
		for _, f := range rep.Orphans {
			fmt.Fprintf(w, "  %s  %d bytes\n", f.Path, f.SizeBytes)
		}
	}
	if rep.Conflicts > 0 {
		fmt.Fprintf(w, "started over %d times after other writers committed first\n", rep.Conflicts)
	}
}
