package schema

import (
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/ddb/ddbtest"
)

// BenchmarkDetectorObserve measures what the one-pass load adds per item:
// Detector.Observe on realistic order items (about 0.5 KB of DynamoDB
// JSON).
func BenchmarkDetectorObserve(b *testing.B) {
	items := make([]ddb.Item, 64)
	for i := range items {
		items[i] = ddbtest.OrderItem(i)
	}
	d := NewDetector([]string{"pk", "sk"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(items[i%len(items)])
	}
	b.StopTimer()
	if d.Items() != int64(b.N) {
		b.Fatalf("observed %d items, want %d", d.Items(), b.N)
	}
	if _, _, err := Decide(d.Stats(), []string{"pk", "sk"}, ColumnsAsIs); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/item")
}
