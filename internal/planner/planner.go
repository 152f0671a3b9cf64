// Package planner finds the exports behind an --export location, checks
// their manifests, and publishes one plan per export for the table's
// committer. It reads manifests only, never data files, so planning a
// multi-terabyte export takes as long as reading its manifests.
package planner

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/schema"
)

// Options say what to plan.
type Options struct {
	Table string
	// Export is an export folder (…/AWSDynamoDB/<exportId>/) or the
	// AWSDynamoDB/ parent, local or s3://.
	Export string
	S3     objstore.S3Options
	// Key is the table's partition key and optional sort key.
	Key []string
	// Schema is a schema file's content (see package schema), or nil to
	// detect the schema from the data.
	Schema         []byte
	ColumnNames    schema.ColumnNames
	PartitionBy    []string
	FormatVersion  int
	TargetFileSize int64
	// AllowGaps applies incremental exports that do not start where the
	// table's changes end.
	AllowGaps bool
	// SchemaSample is how a new table's schema is detected (see
	// natsbus.Plan.SchemaSample).
	SchemaSample int64
}

// Plans discovers the exports and returns their plans in apply order, with
// warnings about folders that were passed over (exports still running).
func Plans(ctx context.Context, o Options) ([]natsbus.Plan, []string, error) {
	if err := natsbus.ValidateTable(o.Table); err != nil {
		return nil, nil, err
	}
	var schemaJSON json.RawMessage
	if o.Schema != nil {
		s, err := schema.Parse(o.Schema, o.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("--schema: %w", err)
		}
		if o.Key == nil {
			o.Key = s.Key
		}
		schemaJSON = o.Schema
	}
	st, root, err := objstore.Parse(ctx, o.Export, o.S3)
	if err != nil {
		return nil, nil, fmt.Errorf("--export: %w", err)
	}
	exports, warnings, err := export.Discover(ctx, st, root)
	if err != nil {
		return nil, warnings, err
	}
	if len(exports) == 0 {
		return nil, warnings, fmt.Errorf("no DynamoDB export under %s: point --export at an export folder (…/AWSDynamoDB/<exportId>/) or its AWSDynamoDB/ parent", o.Export)
	}
	source := "/"
	if strings.HasPrefix(o.Export, "s3://") {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(o.Export, "s3://"), "/")
		source = "s3://" + bucket + "/"
	}
	attempt := uuid.NewString()[:8]
	plans := make([]natsbus.Plan, 0, len(exports))
	for _, e := range exports {
		p := natsbus.Plan{
			Attempt: attempt, Table: o.Table, Source: source,
			ExportID: e.ID, ExportDir: objstore.Location(st, e.Dir),
			ExportArn: e.Summary.ExportArn, TableArn: e.Summary.TableArn,
			ExportType: export.TypeFull, ExportTime: e.Summary.ExportTime,
			Format: e.Summary.OutputFormat, ItemCount: e.Summary.ItemCount,
			Key: o.Key, Schema: schemaJSON, ColumnNames: string(o.ColumnNames),
			PartitionBy: o.PartitionBy, FormatVersion: o.FormatVersion, TargetFileSize: o.TargetFileSize,
			SchemaSample: o.SchemaSample,
		}
		if e.Incremental() {
			p.ExportType = export.TypeIncremental
			p.ExportFromTime, p.ExportToTime = e.Summary.ExportFromTime, e.Summary.ExportToTime
			p.OutputView, p.AllowGaps = e.Summary.OutputView, o.AllowGaps
		}
		for i, f := range e.Files {
			p.Files = append(p.Files, natsbus.File{Index: i, Key: f.Key, ItemCount: f.ItemCount, MD5: f.MD5})
		}
		plans = append(plans, p)
	}
	return plans, warnings, nil
}

// Merge joins the plans of several --export locations into one apply
// order (see export.SortForApply), dropping an export named twice, so that
// `--export inc2 --export inc1` applies inc1 first instead of refusing inc2
// as a gap.
func Merge(groups ...[]natsbus.Plan) []natsbus.Plan {
	var out []natsbus.Plan
	seen := map[string]bool{}
	for _, g := range groups {
		for _, p := range g {
			if !seen[p.ExportID] {
				seen[p.ExportID] = true
				out = append(out, p)
			}
		}
	}
	at := func(p *natsbus.Plan) time.Time {
		if p.ExportType == export.TypeIncremental {
			return p.ExportFromTime
		}
		return p.ExportTime
	}
	slices.SortStableFunc(out, func(a, b natsbus.Plan) int {
		if c := at(&a).Compare(at(&b)); c != 0 {
			return c
		}
		if ai, bi := a.ExportType == export.TypeIncremental, b.ExportType == export.TypeIncremental; ai != bi {
			if ai {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.ExportID, b.ExportID)
	})
	return out
}

// Publish sends the plans, in order, to their table's committer.
func Publish(ctx context.Context, js jetstream.JetStream, plans []natsbus.Plan) error {
	for i := range plans {
		p := &plans[i]
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		m := nats.NewMsg(natsbus.BatchSubject(p.Table))
		m.Header.Set(natsbus.HdrKind, natsbus.KindPlan)
		m.Header.Set(natsbus.HdrExport, p.ExportID)
		m.Header.Set(natsbus.HdrAttempt, p.Attempt)
		m.Header.Set(jetstream.MsgIDHeader, p.ExportID+"/"+p.Attempt+"/plan")
		m.Data = data
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("publishing the plan of export %s: %w", p.ExportID, err)
		}
	}
	return nil
}
