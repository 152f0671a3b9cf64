package arrowconv

import (
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/ddb/ddbtest"
	"github.com/floe-io/floe/internal/schema"
)

// BenchmarkBuilderAppend measures Builder.Append on order items, flushing
// a record batch every 4096 items as the transformer does.
func BenchmarkBuilderAppend(b *testing.B) {
	items := make([]ddb.Item, 64)
	for i := range items {
		items[i] = ddbtest.OrderItem(i)
	}
	if n := len(ddb.AppendItemJSON(nil, items[0])); n < 400 || n > 700 {
		b.Fatalf("order item is %d bytes of JSON, want about 500", n)
	}
	s := decideFor(b, []string{"pk", "sk"}, schema.ColumnsAsIs, items...)
	bld, release := newBuilder(b, s)
	defer release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bld.Append(items[i%len(items)], 1710667304123456); err != nil {
			b.Fatal(err)
		}
		if bld.Len() == 4096 {
			bld.NewRecordBatch().Release()
		}
	}
	b.StopTimer()
	if bld.RescuedValues != 0 || bld.UnknownAttrs != 0 {
		b.Fatalf("rescued %d, unknown %d: the schema should fit every item", bld.RescuedValues, bld.UnknownAttrs)
	}
	bld.NewRecordBatch().Release()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
