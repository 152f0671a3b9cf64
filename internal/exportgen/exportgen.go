// Package exportgen generates byte-faithful Amazon DynamoDB exports (a full
// export followed by incremental exports) of a realistic "Orders" table,
// together with the table state each export should leave behind.
//
// It feeds the end-to-end tests, the `floe gen` demo and the benchmarks, so
// it is deterministic (the same Options give the same bytes), streams (a
// 4M-item export is generated with memory bounded by the number of
// incremental changes, not by the table size) and writes files in parallel.
//
// Layout written under Options.Dir:
//
//	AWSDynamoDB/<exportId>/_started, manifest-summary.json, manifest-summary.md5,
//	                       manifest-files.json, manifest-files.md5
//	AWSDynamoDB/<fullExportId>/data/<name>.json.gz   full export data
//	AWSDynamoDB/data/<name>.json.gz                  incremental export data (shared)
//	expected/<exportId>.jsonl.gz                     table state after each export
//
// The expected-state files hold the live items as full-export lines
// ({"Item":{...}} in DynamoDB JSON, whatever the export format), sorted by
// (pk, sk) byte order; read them with ReadExpected.
package exportgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Export formats and views, spelled as DynamoDB spells them.
const (
	FormatJSON = "DYNAMODB_JSON"
	FormatIon  = "ION"

	ViewNewAndOld = "NEW_AND_OLD_IMAGES"
	ViewNew       = "NEW_IMAGE"
)

// TableName is the generated table's name, as it appears in the ARNs.
const TableName = "Orders"

// Options describes the exports to generate. Zero values take the defaults
// given on each field.
type Options struct {
	// Dir is the local output root; exports go under Dir/AWSDynamoDB/ and
	// the expected states under Dir/expected/.
	Dir string
	// Bucket and Prefix are what the manifests claim the exports were
	// written to (s3Bucket, s3Prefix, and keys "Prefix/AWSDynamoDB/...").
	// Defaults "floe-sample" and "exports".
	Bucket, Prefix string
	// Items is the number of items in the full export.
	Items int
	// Files is the number of data files of the full export. Default: one per
	// 100,000 items, plus one empty partition when that makes more than
	// one. Whenever Files > 1 one partition is left empty, as DynamoDB does
	// for partitions without items (a 20-byte gzip, itemCount 0).
	Files int
	// Format is FormatJSON (default) or FormatIon.
	Format string
	// Incrementals is the number of incremental exports after the full one.
	Incrementals int
	// ChangesPerIncremental is the number of changed items per incremental
	// export: about 60% updates, 25% deletes, 15% inserts. Fewer when the
	// table runs out of items to update or delete.
	ChangesPerIncremental int
	// IncrementalFiles is the number of data files per incremental export,
	// defaulting like Files (by changes instead of items).
	IncrementalFiles int
	// View is ViewNewAndOld (default) or ViewNew.
	View string
	// Seed selects the data; the same Options always give the same bytes.
	Seed int64
	// Edge adds edge-case attributes to 2% of the items: names with spaces,
	// dots, quotes and non-ASCII, case-distinct twins, 38-digit and tiny
	// numbers, maximal nesting, mixed lists, escapes, empty values, a big
	// binary; and type drift in some updates.
	Edge bool
	// StartTime is the full export's exportTime (default
	// 2024-01-01T00:00:00Z, truncated to the millisecond). Incremental k
	// covers [StartTime+k*Window, StartTime+(k+1)*Window).
	StartTime time.Time
	// Window is the length of each incremental export's window (default one
	// hour, whole seconds).
	Window time.Duration
	// Workers bounds the goroutines writing files (default GOMAXPROCS).
	Workers int
	// SkipExpected skips writing the expected-state files, for runs that
	// only need the exports (benchmarks, demos).
	SkipExpected bool
}

// Result describes the generated exports.
type Result struct {
	// Full is the full export.
	Full ExportInfo
	// Incrementals are the incremental exports, in window order.
	Incrementals []ExportInfo
}

// ExportInfo describes one generated export.
type ExportInfo struct {
	// ID is the export id, e.g. "01704067200000-1a2b3c4d".
	ID string
	// Dir is the export folder, Options.Dir/AWSDynamoDB/<ID>.
	Dir string
	// ItemCount is the number of lines in the export's data files (the
	// manifest's itemCount).
	ItemCount int64
	// Bytes is the uncompressed size of those lines.
	Bytes int64
	// Files is the number of data files, empty ones included.
	Files int
	// Inserts, Updates and Deletes break an incremental export's records
	// down by kind (re-inserts of deleted keys count as inserts). Zero for
	// the full export.
	Inserts, Updates, Deletes int
	// ExpectedPath is the expected-state file after applying this export
	// (and all before it); empty with Options.SkipExpected.
	ExpectedPath string
	// ExpectedItems is the number of live items after this export.
	ExpectedItems int64
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("exportgen: Options.Dir is required")
	}
	if o.Items < 0 || o.Files < 0 || o.Incrementals < 0 || o.ChangesPerIncremental < 0 || o.IncrementalFiles < 0 || o.Workers < 0 {
		return o, fmt.Errorf("exportgen: negative count in options")
	}
	if o.Files > 65535 || o.IncrementalFiles > 65535 {
		return o, fmt.Errorf("exportgen: more than 65535 data files per export")
	}
	if o.Incrementals > 10000 {
		return o, fmt.Errorf("exportgen: %d incrementals is more than the 10000 supported", o.Incrementals)
	}
	if o.Bucket == "" {
		o.Bucket = "floe-sample"
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	if o.Prefix == "" {
		o.Prefix = "exports"
	}
	switch o.Format {
	case "":
		o.Format = FormatJSON
	case FormatJSON, FormatIon:
	default:
		return o, fmt.Errorf("exportgen: unknown format %q (want %s or %s)", o.Format, FormatJSON, FormatIon)
	}
	switch o.View {
	case "":
		o.View = ViewNewAndOld
	case ViewNewAndOld, ViewNew:
	default:
		return o, fmt.Errorf("exportgen: unknown view %q (want %s or %s)", o.View, ViewNewAndOld, ViewNew)
	}
	if o.Files == 0 {
		o.Files = defaultFiles(o.Items)
	}
	if o.IncrementalFiles == 0 {
		o.IncrementalFiles = defaultFiles(o.ChangesPerIncremental)
	}
	if o.StartTime.IsZero() {
		o.StartTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	o.StartTime = o.StartTime.UTC().Truncate(time.Millisecond)
	if o.Window == 0 {
		o.Window = time.Hour
	}
	o.Window = o.Window.Truncate(time.Second)
	if o.Window < time.Second {
		return o, fmt.Errorf("exportgen: window %v is shorter than a second", o.Window)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o, nil
}

// defaultFiles gives about one file per 100,000 records, plus the empty
// partition once there are several.
func defaultFiles(n int) int {
	f := (n + 99999) / 100000
	if f > 1 {
		return f + 1
	}
	return 1
}

// Generate writes a full export, o.Incrementals incremental exports and
// their expected states under o.Dir. Existing files of the same names are
// overwritten, so rerunning with the same options reproduces the tree.
func Generate(ctx context.Context, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	g := newGenerator(&o)
	if !o.SkipExpected {
		if err := os.MkdirAll(filepath.Join(o.Dir, "expected"), 0o755); err != nil {
			return nil, fmt.Errorf("exportgen: %w", err)
		}
	}
	res := &Result{}
	if res.Full, err = g.full(ctx); err != nil {
		return nil, err
	}
	for k := 0; k < o.Incrementals; k++ {
		info, err := g.incremental(ctx, k)
		if err != nil {
			return nil, err
		}
		res.Incrementals = append(res.Incrementals, info)
	}
	return res, nil
}
