// Package natsbus is floe's use of NATS JetStream: the streams and the
// state bucket, the subjects, and the messages that cross them.
//
// Two work-queue streams carry the pipeline. FLOE_TASKS holds one message
// per export data file to process (subject floe.tasks.<table>), pulled by
// every transformer through one shared durable consumer. FLOE_BATCHES holds,
// per table (subject floe.batches.<table>), the export plans, the Arrow
// record batches and the per-file results, pulled by that table's one
// committer. The FLOE_STATE key-value bucket holds each committer's durable
// pending state.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream, consumer and bucket names.
const (
	TasksStream   = "FLOE_TASKS"
	BatchesStream = "FLOE_BATCHES"
	// DeadLetterStream holds the items plugins failed (DeadLetter), per
	// table, until an operator replays or purges them.
	DeadLetterStream = "FLOE_DLQ"
	StateBucket      = "FLOE_STATE"
	// TransformerConsumer is the durable consumer all transformers share.
	TransformerConsumer = "transformers"
)

// EmbeddedMaxPayload is the embedded server's message size limit: large
// enough that batches of a few MiB of items cross in one message. External
// servers keep their own limit (default 1 MiB); transformers size batches
// to whatever the server reports.
const EmbeddedMaxPayload = 8 << 20

// Config sizes the streams.
type Config struct {
	// DuplicateWindow is how long the server remembers Nats-Msg-Id values.
	// Retried tasks inside it publish nothing twice; the committer
	// de-duplicates the rest from its durable state.
	DuplicateWindow time.Duration
	// MaxBatchBytes bounds the bytes waiting in FLOE_BATCHES. When it is
	// full, transformers wait: this is the pipeline's back-pressure, so
	// disk use stays bounded however large the export. It also bounds
	// memory: the server caches recently written blocks in memory, so an
	// unbounded backlog would sit in RAM. Committers close a chunk of data
	// files at a quarter of it (see committer), so it must hold a few
	// chunks' worth of batches.
	MaxBatchBytes int64
	// Replicas is the stream replication factor (1 for a single server).
	Replicas int
}

// DefaultConfig is used by floe run and as flag defaults.
var DefaultConfig = Config{DuplicateWindow: time.Hour, MaxBatchBytes: 256 << 20, Replicas: 1}

// StartEmbedded starts an in-process NATS server with JetStream storing
// under dir. It listens on no port: clients connect in-process (see
// ConnectEmbedded), so two floe runs never collide.
func StartEmbedded(dir string, log *slog.Logger) (*server.Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("nats store %s: %w", dir, err)
	}
	opts := &server.Options{
		ServerName: "floe-embedded",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		MaxPayload: EmbeddedMaxPayload,
		NoSigs:     true,
		NoLog:      true,
		// The embedded server serves one process; a generous pending limit
		// keeps in-process publishers from being cut off as slow consumers.
		MaxPending: 256 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready after 30s; is the store directory " + dir + " on a slow or full disk?")
	}
	log.Debug("embedded nats started", "store", dir)
	return ns, nil
}

// ConnectEmbedded connects to an in-process server.
func ConnectEmbedded(ns *server.Server, name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(ns), nats.Name(name), nats.MaxReconnects(-1))
}

// Setup creates or updates the streams and the state bucket.
func Setup(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	streams := []jetstream.StreamConfig{
		{
			Name:        TasksStream,
			Description: "floe: one message per export data file to transform",
			Subjects:    []string{"floe.tasks.>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  cfg.DuplicateWindow,
			Replicas:    cfg.Replicas,
		},
		{
			Name:        BatchesStream,
			Description: "floe: export plans, Arrow record batches and file results, per table",
			Subjects:    []string{"floe.batches.>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  cfg.DuplicateWindow,
			MaxBytes:    cfg.MaxBatchBytes,
			Discard:     jetstream.DiscardNew,
			Replicas:    cfg.Replicas,
		},
	}
	streams = append(streams, jetstream.StreamConfig{
		Name:        DeadLetterStream,
		Description: "floe: items that plugins failed, with their original bytes (floe dlq)",
		Subjects:    []string{"floe.dlq.>"},
		Retention:   jetstream.LimitsPolicy, // kept until purged: nothing expires unseen
		Storage:     jetstream.FileStorage,
		Duplicates:  cfg.DuplicateWindow,
		Replicas:    cfg.Replicas,
	})
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("nats stream %s: %w", sc.Name, err)
		}
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      StateBucket,
		Description: "floe: committers' durable pending state, one key per table",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return fmt.Errorf("nats kv %s: %w", StateBucket, err)
	}
	return nil
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateTable checks a NS.NAME table identifier. floe restricts names to
// what every catalog and engine accepts unquoted, and what a NATS subject
// token can carry.
func ValidateTable(name string) error {
	if !tableName.MatchString(name) {
		return fmt.Errorf("table %q is not valid: want NAMESPACE.NAME, each part letters, digits and underscores, not starting with a digit (e.g. dynamodb.orders)", name)
	}
	return nil
}

// token turns a validated NS.NAME into one subject token. The separator
// must be a character table names cannot contain: "__" would make a__b.c
// and a.b__c share subjects and state.
func token(table string) string { return strings.ReplaceAll(table, ".", "-") }

// TaskSubject is the subject of a table's tasks.
func TaskSubject(table string) string { return "floe.tasks." + token(table) }

// BatchSubject is the subject of a table's batches and plans.
func BatchSubject(table string) string { return "floe.batches." + token(table) }

// DeadLetterSubject is the subject of the dead letters of one attempt of
// an export (or a replay) of a table: a failed attempt's letters can be
// purged at once, since its items are in no snapshot. attempt may be "*"
// to name every attempt, for a purge or a filter.
func DeadLetterSubject(table, exportID, attempt string) string {
	return "floe.dlq." + token(table) + "." + subjectToken(exportID) + "." + attempt
}

// DeadLetterFilter is the subject filter of all dead letters of a table.
func DeadLetterFilter(table string) string { return "floe.dlq." + token(table) + ".>" }

// subjectToken makes s one subject token: DynamoDB export ids are digits,
// letters and dashes, but a token must never hold a dot, a wildcard or
// white space whatever comes.
func subjectToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r <= ' ' {
			return '_'
		}
		return r
	}, s)
}

// EventSubject is the (core NATS, not persisted) subject on which a
// table's committer announces what it did with each export.
func EventSubject(table string) string { return "floe.events." + token(table) }

// CommitterConsumer is the durable consumer name of a table's committer.
func CommitterConsumer(table string) string { return "committer_" + token(table) }

// StateKey is a table's key in the state bucket.
func StateKey(table string) string { return token(table) }
