package committer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
)

// Phases of an export in the pending state.
const (
	phaseDetect = "detect"
	phaseLoad   = "load"
)

// pending is the committer's durable state for the export it is applying.
// It lives in the FLOE_STATE bucket under the table's key and is only ever
// replaced with compare-and-set on the revision read, so two committers of
// one table can never both advance it.
//
// A batch message is acked only after the data file holding its rows is
// listed here (DataFiles) with the batch marked done (Files[i].Done). A
// restarted committer therefore resumes from here, and batches it sees
// again are recognised and dropped.
type pending struct {
	Plan   natsbus.Plan    `json:"plan"`
	Phase  string          `json:"phase"`
	Schema json.RawMessage `json:"schema,omitempty"`
	// Files maps a file index to what has been made durable of it.
	Files map[int]*fileState `json:"files"`
	// DataFiles are the Parquet files written for this export, encoded
	// with iceberg-go's codec, waiting for the commit.
	DataFiles [][]byte `json:"dataFiles,omitempty"`
	// Inflight is the write UUID of the chunk being written now, and
	// Closing that of the chunk before it while its files close (see
	// flushChunk): files carrying either that are not in DataFiles are
	// orphans of a crash.
	Inflight string `json:"inflight,omitempty"`
	Closing  string `json:"closing,omitempty"`
	// Staged lists the Parquet files holding the deletes of an
	// incremental export (keys and write timestamps), made durable like
	// DataFiles; they are never committed and are removed afterwards.
	Staged []string `json:"staged,omitempty"`
	// Rows counts the rows written to DataFiles, Deletes the delete
	// records staged.
	Rows    int64 `json:"rows"`
	Deletes int64 `json:"deletes,omitempty"`
	Rescued int64 `json:"rescued"`
	// Dropped and Failed count the items plugins dropped and failed
	// (dead-lettered). Plugins is the chain that transformed the
	// batches (nil until the first batch, "" for none): every batch of
	// an export must come from the same chain.
	Dropped int64 `json:"dropped,omitempty"`
	Failed  int64 `json:"failed,omitempty"`
	// DropDeletes counts the dropped items that became deletes (new
	// images of changes), which Deletes counts too.
	DropDeletes int64   `json:"dropDeletes,omitempty"`
	Plugins     *string `json:"plugins,omitempty"`
	// MaxSeq is the highest stream sequence of a message made durable.
	MaxSeq uint64 `json:"maxSeq"`

	// A new table's schema comes from a sample (see sample.go). Sample is
	// the items per file its detect tasks read; Sampled says the load
	// runs with a sampled schema, to be checked against the statistics
	// its load tasks gather before the export commits. Round counts the
	// loads after such a check failed, and Recreate says the table must
	// be dropped and created anew before the next one.
	Sample   int64 `json:"sample,omitempty"`
	Sampled  bool  `json:"sampled,omitempty"`
	Round    int   `json:"round,omitempty"`
	Recreate bool  `json:"recreate,omitempty"`
}

// plugins returns the export's plugin chain, "" for none.
func (p *pending) plugins() string {
	if p.Plugins == nil {
		return ""
	}
	return *p.Plugins
}

// kept counts the items that plugins kept: rows and deletes, less the
// deletes that dropped new images became.
func (p *pending) kept() int64 { return p.Rows + p.Deletes - p.DropDeletes }

// merges reports whether exports of type t are applied as row-level
// merges: incremental exports and replays of dead letters.
func merges(t string) bool { return t == export.TypeIncremental || t == natsbus.TypeReplay }

type fileState struct {
	// Batches is the file's batch count, -1 until its final batch is seen.
	Batches int   `json:"batches"`
	Items   int64 `json:"items"`
	Done    []int `json:"done,omitempty"`
}

func (f *fileState) isDone(batch int) bool {
	_, ok := slices.BinarySearch(f.Done, batch)
	return ok
}

func (f *fileState) markDone(batch int) {
	i, ok := slices.BinarySearch(f.Done, batch)
	if !ok {
		f.Done = slices.Insert(f.Done, i, batch)
	}
}

func (f *fileState) complete() bool {
	return f.Batches >= 0 && len(f.Done) == f.Batches
}

// stateStore reads and writes the pending state of one table.
type stateStore struct {
	kv  jetstream.KeyValue
	key string
	rev uint64
}

func (s *stateStore) load(ctx context.Context) (*pending, error) {
	e, err := s.kv.Get(ctx, s.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		s.rev = 0
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading committer state %s/%s: %w", natsbus.StateBucket, s.key, err)
	}
	s.rev = e.Revision()
	if e.Operation() != jetstream.KeyValuePut || len(e.Value()) == 0 {
		return nil, nil
	}
	var p pending
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return nil, fmt.Errorf("committer state %s/%s is corrupt (%w): delete the key with `nats kv del %s %s` and rerun the export", natsbus.StateBucket, s.key, err, natsbus.StateBucket, s.key)
	}
	return &p, nil
}

// save replaces the state, failing if anyone else changed it since it was
// read: that means another committer took over the table.
func (s *stateStore) save(ctx context.Context, p *pending) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var rev uint64
	if s.rev == 0 {
		rev, err = s.kv.Create(ctx, s.key, data)
	} else {
		rev, err = s.kv.Update(ctx, s.key, data, s.rev)
	}
	if err != nil {
		return fmt.Errorf("saving committer state (another committer may own table %s): %w", s.key, err)
	}
	s.rev = rev
	return nil
}

func (s *stateStore) clear(ctx context.Context) error {
	if s.rev == 0 {
		return nil
	}
	if err := s.kv.Delete(ctx, s.key, jetstream.LastRevision(s.rev)); err != nil {
		return fmt.Errorf("clearing committer state: %w", err)
	}
	s.rev = 0
	// A delete leaves a tombstone revision; Create works on it again.
	return nil
}
