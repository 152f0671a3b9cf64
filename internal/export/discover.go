package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/floe-io/floe/internal/objstore"
)

// discoverParallelism bounds concurrent export loads: each is a handful of
// small reads, so latency, not bandwidth, is what parallelism hides.
const discoverParallelism = 8

// Discover finds the exports at key, which is either one export folder (it
// holds manifest-summary.json or _started), an AWSDynamoDB/ folder, or the
// prefix that contains AWSDynamoDB/. Exports come back verified and in apply
// order (see SortForApply).
//
// Folders without a manifest-summary.json (exports still running, failed
// ones, stray folders) are skipped and described in the returned warnings;
// a single export folder named directly is an error instead, since the user
// asked for that export. The data/ folders are never listed.
func Discover(ctx context.Context, st objstore.Store, key string) ([]*Export, []string, error) {
	k := strings.TrimSuffix(key, "/")
	_, base := splitKey(k)
	if k != "" && base != AWSDir {
		isExport, err := isExportFolder(ctx, st, k)
		if err != nil {
			return nil, nil, err
		}
		if isExport {
			e, err := Load(ctx, st, k)
			if err != nil {
				return nil, nil, err
			}
			return []*Export{e}, nil, nil
		}
	}

	awsDir := k
	if base != AWSDir {
		awsDir = joinKey(k, AWSDir)
	}
	_, dirs, err := objstore.ListDir(ctx, st, awsDir+"/")
	if err != nil {
		return nil, nil, fmt.Errorf("looking for exports in %s: %w", objstore.Location(st, awsDir), err)
	}
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return d == awsDir+"/"+DataDir+"/" })
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("%s: %w: point --export at an export folder (…/%s/<exportId>/) or at the folder that contains %s/", objstore.Location(st, key), ErrNoExports, AWSDir, AWSDir)
	}

	// A damaged export fails the whole discovery rather than being skipped:
	// applying the ones around it would leave a silent gap in the table.
	exports, errs, err := loadAll(ctx, st, dirs)
	if err != nil {
		return nil, nil, err
	}
	var out []*Export
	var warnings []string
	for i, err := range errs {
		if err != nil {
			warnings = append(warnings, "skipping "+err.Error())
			continue
		}
		out = append(out, exports[i])
	}
	if len(out) == 0 {
		return nil, warnings, fmt.Errorf("%s: %w: %d folder(s) under %s/, none with a finished export (see warnings)", objstore.Location(st, key), ErrNoExports, len(dirs), AWSDir)
	}
	if tables := distinctTables(out); len(tables) > 1 {
		warnings = append(warnings, fmt.Sprintf("%s holds exports of %d tables (%s); they are all returned, filter by table before applying",
			objstore.Location(st, awsDir), len(tables), strings.Join(tables, ", ")))
	}
	SortForApply(out)
	return out, warnings, nil
}

// isExportFolder tells an export folder from a parent folder by the files
// DynamoDB writes into every export folder.
func isExportFolder(ctx context.Context, st objstore.Store, dir string) (bool, error) {
	for _, name := range []string{SummaryFile, StartedFile} {
		_, err := st.Stat(ctx, dir+"/"+name)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, objstore.ErrNotFound) {
			return false, fmt.Errorf("looking for exports in %s: %w", objstore.Location(st, dir), err)
		}
	}
	return false, nil
}

// loadAll loads every folder, a few at a time. It returns the exports and
// the skippable (ErrIncomplete) errors by folder, or the first real failure
// in folder order.
func loadAll(ctx context.Context, st objstore.Store, dirs []string) ([]*Export, []error, error) {
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	exports := make([]*Export, len(dirs))
	errs := make([]error, len(dirs))
	sem := make(chan struct{}, discoverParallelism)
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			exports[i], errs[i] = Load(loadCtx, st, d)
			if errs[i] != nil && !errors.Is(errs[i], ErrIncomplete) {
				cancel() // Discover fails anyway; stop the other loads
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for _, err := range errs {
		// Loads stopped by our own cancel are not the cause.
		if err != nil && !errors.Is(err, ErrIncomplete) && !errors.Is(err, context.Canceled) {
			return nil, nil, err
		}
	}
	return exports, errs, nil
}

func distinctTables(exports []*Export) []string {
	var tables []string
	for _, e := range exports {
		if !slices.Contains(tables, e.Summary.TableArn) {
			tables = append(tables, e.Summary.TableArn)
		}
	}
	slices.Sort(tables)
	return tables
}

// SortForApply orders exports the way they must be applied to a table:
// full exports by exportTime, incremental ones by exportFromTime, and a full
// export before incrementals starting at or after its exportTime (they
// continue from the snapshot it shows). Ties are broken by ID so the order
// is the same on every run.
func SortForApply(exports []*Export) {
	slices.SortStableFunc(exports, func(a, b *Export) int {
		if c := a.applyTime().Compare(b.applyTime()); c != 0 {
			return c
		}
		if a.Incremental() != b.Incremental() {
			if a.Incremental() {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func (e *Export) applyTime() time.Time {
	if e.Incremental() {
		return e.Summary.ExportFromTime
	}
	return e.Summary.ExportTime
}
