package committer

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/floe-io/floe/internal/arrowconv"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/ddb/ddbtest"
	"github.com/floe-io/floe/internal/schema"
)

// BenchmarkWriteRecords measures the committer's share of a load: Parquet
// data files written through iceberg-go as a chunk writes them (zstd,
// 128Ki-row row groups), from 4096-row batches of order items, per row;
// at zstd's default level (what tables get) and at its fastest.
func BenchmarkWriteRecords(b *testing.B) {
	for _, level := range []string{"default", "1"} {
		b.Run("zstd-"+level, func(b *testing.B) { benchWriteRecords(b, level) })
	}
}

func benchWriteRecords(b *testing.B, level string) {
	ctx := context.Background()
	key := []string{"pk", "sk"}
	det := schema.NewDetector(key)
	for i := range 64 {
		det.Observe(ddbtest.OrderItem(i))
	}
	s, _, err := schema.Decide(det.Stats(), key, schema.ColumnsAsIs)
	if err != nil {
		b.Fatal(err)
	}
	ice, err := s.Iceberg()
	if err != nil {
		b.Fatal(err)
	}
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer closeCat()
	if err := cat.CreateNamespace(ctx, table.Identifier{"bench"}, nil); err != nil {
		b.Fatal(err)
	}
	props := iceberg.Properties{"write.parquet.compression-codec": "zstd"}
	if level != "default" {
		props[table.ParquetCompressionLevelKey] = level
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{"bench", "orders"}, ice, icecat.WithProperties(props))
	if err != nil {
		b.Fatal(err)
	}
	bld, err := arrowconv.New(memory.DefaultAllocator, s, tbl.Schema())
	if err != nil {
		b.Fatal(err)
	}
	defer bld.Release()
	const batchRows, batches = 4096, 32
	recs := make([]arrow.RecordBatch, batches)
	for i := range recs {
		for r := range batchRows {
			if err := bld.Append(ddbtest.OrderItem(i*batchRows+r), 1710667304123456); err != nil {
				b.Fatal(err)
			}
		}
		recs[i] = bld.NewRecordBatch()
		defer recs[i].Release()
	}
	sc := recs[0].Schema()
	var fileBytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		records := func(yield func(arrow.RecordBatch, error) bool) {
			for _, r := range recs {
				r.Retain() // the writer releases what it takes
				if !yield(r, nil) {
					r.Release()
					return
				}
			}
		}
		for df, err := range writeRecords(ctx, tbl, sc, records, uuid.New()) {
			if err != nil {
				b.Fatal(err)
			}
			if df.Count() != batchRows*batches {
				b.Fatalf("data file of %d rows, want %d", df.Count(), batchRows*batches)
			}
			fileBytes += df.FileSizeBytes()
		}
	}
	rows := float64(b.N) * batchRows * batches
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	b.ReportMetric(float64(fileBytes)/float64(b.N)/1e6, "MB/file")
}
