package planner

import (
	"context"
	"fmt"
	"sync"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/schema"
	"github.com/floe-io/floe/transformer"
)

// DetectResult is the outcome of schema detection over full exports.
type DetectResult struct {
	Schema    *schema.Schema
	Conflicts []schema.Conflict
	Items     int64
	Files     int
}

// Detect infers the schema of the full exports behind o.Export, reading
// their data files in parallel (workers at once). It is what
// `floe schema detect` runs; the pipeline runs the same detection as
// distributed detect tasks.
func Detect(ctx context.Context, o Options, workers int) (*DetectResult, error) {
	o.Schema = nil
	plans, _, err := Plans(ctx, o)
	if err != nil {
		return nil, err
	}
	st, _, err := objstore.Parse(ctx, plans[0].Source, o.S3)
	if err != nil {
		return nil, err
	}
	type job struct {
		plan *natsbus.Plan
		file natsbus.File
		slot int
	}
	var jobs []job
	for i := range plans {
		if plans[i].ExportType == export.TypeIncremental {
			continue
		}
		for _, f := range plans[i].Files {
			jobs = append(jobs, job{plan: &plans[i], file: f, slot: len(jobs)})
		}
	}
	if len(jobs) == 0 && len(plans) > 0 {
		return nil, fmt.Errorf("no full export under %s: schema detection reads full exports", o.Export)
	}
	stats := make([]*schema.Detector, len(jobs))
	errs := make([]error, len(jobs))
	ch := make(chan job)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for j := range ch {
				det := schema.NewDetector(o.Key)
				stats[j.slot] = det
				dec, err := transformer.NewDecoder(j.plan.Format)
				if err != nil {
					errs[j.slot] = err
					continue
				}
				errs[j.slot] = transformer.ReadFile(ctx, st, dec, j.file, func(rec ddb.Record, _ int, _ []byte) error {
					det.Observe(rec.Item)
					return nil
				})
			}
		})
	}
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Merge in file order so the column order is deterministic.
	root := &schema.Stats{}
	res := &DetectResult{Files: len(jobs)}
	for i, d := range stats {
		if errs[i] != nil {
			return nil, errs[i]
		}
		root.Merge(d.Stats())
		res.Items += d.Items()
	}
	res.Schema, res.Conflicts, err = schema.Decide(root, o.Key, o.ColumnNames)
	schema.SortConflicts(res.Conflicts)
	return res, err
}
