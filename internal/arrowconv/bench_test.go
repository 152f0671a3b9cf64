package arrowconv

import (
	"strconv"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// orderItem is a realistic order of about 0.5 KB of DynamoDB JSON: the
// shape the transformer's hot path sees most, with decimals, sets, a list
// of maps and a nested map.
func orderItem(i int) ddb.Item {
	n := strconv.Itoa(i)
	return item(
		at("pk", vS("CUSTOMER#"+n)),
		at("sk", vS("ORDER#2024-03-17T09:21:44Z#"+n)),
		at("status", vS("SHIPPED")),
		at("amount", vN("129.97")),
		at("quantity", vN("3")),
		at("email", vS("jane.doe"+n+"@example.com")),
		at("createdAt", vS("2024-03-17T09:21:44.123Z")),
		at("tags", vSS("gift", "priority", "eu")),
		at("lineItems", vL(
			vM(at("sku", vS("A-1001")), at("qty", vN("2")), at("price", vN("19.99"))),
			vM(at("sku", vS("B-2002")), at("qty", vN("1")), at("price", vN("89.99"))),
		)),
		at("address", vM(
			at("street", vS("12 Rue de la Paix")),
			at("city", vS("Paris")),
			at("zip", vS("75002")),
			at("country", vS("FR")),
		)),
		at("gift", vBool(i%2 == 0)),
		at("ratings", vNS("4", "5", "3")),
	)
}

// BenchmarkBuilderAppend measures Builder.Append on order items, flushing
// a record batch every 4096 items as the transformer does.
func BenchmarkBuilderAppend(b *testing.B) {
	items := make([]ddb.Item, 64)
	for i := range items {
		items[i] = orderItem(i)
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
