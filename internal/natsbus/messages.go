package natsbus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Message headers. Nats-Msg-Id makes every publish idempotent.
const (
	HdrKind    = "Floe-Kind"
	HdrExport  = "Floe-Export"
	HdrAttempt = "Floe-Attempt"
	HdrFile    = "Floe-File"
	HdrBatch   = "Floe-Batch"
	HdrFinal   = "Floe-Final" // on a file's last batch: the file's item count
	HdrRows    = "Floe-Rows"
	HdrRescued = "Floe-Rescued" // attributes of the batch that went to _rescued
	// HdrDeletes marks a batch of an incremental export whose rows are
	// deletes (key columns and _ddb_write_ts set, the rest null); its
	// value is the row count. Batches without it hold upserts.
	HdrDeletes = "Floe-Deletes"
	// HdrDropped and HdrFailed count the items of a batch's span of the
	// file that plugins dropped or failed (the failed ones are in the
	// dead-letter stream): with the rows, they account for every item.
	HdrDropped = "Floe-Dropped"
	HdrFailed  = "Floe-Failed"
	// HdrDropDeletes counts the dropped items that became deletes (new
	// images of incremental changes): they are rows of delete batches too.
	HdrDropDeletes = "Floe-Drop-Deletes"
	// HdrPlugins names the plugin chain that made the batch
	// (plugins.Identity); absent when no plugin ran.
	HdrPlugins = "Floe-Plugins"
)

// Kinds of messages on a table's batch subject.
const (
	KindPlan   = "plan"   // an export to apply (Plan)
	KindDetect = "detect" // a file's schema statistics (schema.Stats JSON)
	KindBatch  = "batch"  // an Arrow IPC stream with one record batch
	KindError  = "error"  // a file that cannot be processed (text)
)

// Kinds of tasks.
const (
	TaskDetect = "detect"
	TaskLoad   = "load"
)

// File is one export data file.
type File struct {
	Index     int    `json:"index"`
	Key       string `json:"key"`
	ItemCount int64  `json:"itemCount"`
	MD5       string `json:"md5"`
	// Seqs are the dead letters a replay's "file" is made of (their
	// sequences in DeadLetterStream); Key then only names them.
	Seqs []uint64 `json:"seqs,omitempty"`
}

// TypeReplay is the export type of a replay of dead letters (floe dlq
// replay): their items applied again, through the plugins as they are
// now, as a row-level merge like an incremental export's, but outside the
// chain of exports.
const TypeReplay = "DEAD_LETTER_REPLAY"

// Plan asks a table's committer to apply one export. It is published by
// floe submit / floe run; the committer turns it into tasks when the table
// is ready for it, so exports are applied one at a time and in order.
type Plan struct {
	// Attempt is unique per submission: a resubmitted export (after a
	// fix) must not be swallowed by the duplicate window of an earlier one.
	Attempt string `json:"attempt"`
	Table   string `json:"table"`
	// Source is the object store URI the file keys are relative to.
	Source     string    `json:"source"`
	ExportID   string    `json:"exportId"`
	ExportDir  string    `json:"exportDir"`
	ExportArn  string    `json:"exportArn"`
	TableArn   string    `json:"tableArn"`
	ExportType string    `json:"exportType"`
	ExportTime time.Time `json:"exportTime"`
	// ExportFromTime (inclusive) and ExportToTime (exclusive) bound an
	// incremental export's changes; OutputView is its view
	// (NEW_AND_OLD_IMAGES or NEW_IMAGE).
	ExportFromTime time.Time `json:"exportFromTime,omitzero"`
	ExportToTime   time.Time `json:"exportToTime,omitzero"`
	OutputView     string    `json:"outputView,omitempty"`
	// AllowGaps applies an incremental export even though it does not
	// start where the table's changes end (some changes are missing).
	AllowGaps bool   `json:"allowGaps,omitempty"`
	Format    string `json:"format"` // DYNAMODB_JSON or ION
	ItemCount int64  `json:"itemCount"`
	Files     []File `json:"files"`

	// Table creation and schema choices, used when the table does not exist.
	Key           []string        `json:"key,omitempty"`
	Schema        json.RawMessage `json:"schema,omitempty"`
	ColumnNames   string          `json:"columnNames,omitempty"`
	PartitionBy   []string        `json:"partitionBy,omitempty"`
	FormatVersion int             `json:"formatVersion,omitempty"`
	// TargetFileSize is the data file size the committer aims for.
	TargetFileSize int64 `json:"targetFileSize,omitempty"`
	// SchemaSample is how many items of each file a new table's schema
	// is first decided from, the load then checking it against every
	// item: 0 for the committer's default, SchemaSampleAll for a
	// detection pass over every item before the load.
	SchemaSample int64 `json:"schemaSample,omitempty"`
}

// SchemaSampleAll is the Plan.SchemaSample that asks for a full
// detection pass.
const SchemaSampleAll = -1

// Task asks a transformer to process one data file.
type Task struct {
	Kind     string   `json:"kind"`
	Table    string   `json:"table"`
	ExportID string   `json:"exportId"`
	Attempt  string   `json:"attempt"`
	Source   string   `json:"source"`
	Format   string   `json:"format"`
	File     File     `json:"file"`
	Key      []string `json:"key"`
	// ExportType is export.TypeFull or export.TypeIncremental: which records the
	// file must hold.
	ExportType string `json:"exportType"`
	// Schema (floe schema JSON) and TableSchema (Iceberg schema JSON, with
	// the table's field IDs) are set on load tasks.
	Schema      json.RawMessage `json:"schema,omitempty"`
	TableSchema json.RawMessage `json:"tableSchema,omitempty"`
	// Sample, on a detect task, stops detection after that many items:
	// the schema is decided from a sample of every file, and the load
	// checks it (Stats).
	Sample int64 `json:"sample,omitempty"`
	// Stats, on a load task, asks for the file's schema statistics too,
	// gathered while loading and published (KindDetect, batch
	// StatsBatch) before the file's final batch.
	Stats bool `json:"stats,omitempty"`
}

// Batch numbers of a file's results other than its batches, in message
// ids (BatchMsgID).
const (
	DetectBatch = -1 // a detect task's statistics
	ErrorBatch  = -2 // a file that cannot be processed
	StatsBatch  = -3 // a load task's statistics (Task.Stats)
)

// Event is what a committer announces about an export.
type Event struct {
	Table      string `json:"table"`
	ExportID   string `json:"exportId"`
	Attempt    string `json:"attempt"`
	Status     string `json:"status"` // committed, skipped, failed, detecting, loading
	Error      string `json:"error,omitempty"`
	SnapshotID int64  `json:"snapshotId,omitempty"`
	Items      int64  `json:"items,omitempty"`
	Rescued    int64  `json:"rescued,omitempty"`
	DataFiles  int    `json:"dataFiles,omitempty"`
	// Upserts and Deletes are the rows an incremental export wrote and
	// the keys it deleted (changes older than the table's rows excluded).
	Upserts int64  `json:"upserts,omitempty"`
	Deletes int64  `json:"deletes,omitempty"`
	Message string `json:"message,omitempty"`
	// Kept, Dropped and Failed count the items plugins kept, dropped and
	// failed (the failed ones are dead letters); they add up to the items
	// read. Plugins names the chain; all are empty without plugins.
	Kept    int64  `json:"kept,omitempty"`
	Dropped int64  `json:"dropped,omitempty"`
	Failed  int64  `json:"failed,omitempty"`
	Plugins string `json:"plugins,omitempty"`
}

// DeadLetter is an item a plugin failed, as kept in the dead-letter
// stream: the export line as it was read, where it came from, and why it
// failed.
type DeadLetter struct {
	Table      string `json:"table"`
	ExportID   string `json:"exportId"`
	Attempt    string `json:"attempt"`
	ExportType string `json:"exportType"`
	Format     string `json:"format"`
	Source     string `json:"source"` // the data file, as the user names it
	FileIndex  int    `json:"fileIndex"`
	Line       int    `json:"line"`
	// Replay is the replay that failed the item again, if one did.
	Replay string    `json:"replay,omitempty"`
	Plugin string    `json:"plugin"` // name and version
	Error  string    `json:"error"`
	Time   time.Time `json:"time"`
	// Record is the export line, byte for byte.
	Record []byte `json:"record"`
}

// MsgID is the dead letter's Nats-Msg-Id: a retried task dead-letters an
// item once.
func (d *DeadLetter) MsgID() string {
	if d.Replay != "" {
		return fmt.Sprintf("dlq:%s:%s:%s:%d:%d", d.Replay, d.ExportID, d.Attempt, d.FileIndex, d.Line)
	}
	return fmt.Sprintf("dlq:%s:%s:%d:%d", d.ExportID, d.Attempt, d.FileIndex, d.Line)
}

// Event statuses. Committed, skipped and failed are final.
const (
	StatusCommitted = "committed"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
	StatusDetecting = "detecting"
	StatusLoading   = "loading"
)

// Final reports whether the status ends the export's processing.
func (e Event) Final() bool {
	return e.Status == StatusCommitted || e.Status == StatusSkipped || e.Status == StatusFailed
}

// TaskMsgID is the Nats-Msg-Id of a task.
func TaskMsgID(t *Task) string {
	return fmt.Sprintf("%s/%s/%d/%s", t.ExportID, t.Attempt, t.File.Index, t.Kind)
}

// BatchMsgID is the Nats-Msg-Id of a batch (or of another result, with
// DetectBatch, ErrorBatch or StatsBatch): export/attempt/file/batch. Batching of a file is
// deterministic, so a retried task republishes the same ids.
func BatchMsgID(exportID, attempt string, file, batch int) string {
	return fmt.Sprintf("%s/%s/%d/%d", exportID, attempt, file, batch)
}

// IntHeader reads an integer header, reporting whether it was present and valid.
func IntHeader(h nats.Header, key string) (int64, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
