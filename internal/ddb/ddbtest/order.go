// Package ddbtest holds DynamoDB items for the tests and benchmarks of
// other packages.
package ddbtest

import (
	"strconv"

	"github.com/floe-io/floe/internal/ddb"
)

// OrderItem is a realistic order of about 0.5 KB of DynamoDB JSON, the
// shape a transformer's hot path sees most: decimals, sets, a list of maps
// and a nested map. Items differ in their key, email and gift flag.
func OrderItem(i int) ddb.Item {
	n := strconv.Itoa(i)
	return ddb.Item{
		attr("pk", s("CUSTOMER#"+n)),
		attr("sk", s("ORDER#2024-03-17T09:21:44Z#"+n)),
		attr("status", s("SHIPPED")),
		attr("amount", num("129.97")),
		attr("quantity", num("3")),
		attr("email", s("jane.doe"+n+"@example.com")),
		attr("createdAt", s("2024-03-17T09:21:44.123Z")),
		attr("tags", ddb.Value{Kind: ddb.SS, List: []ddb.Value{s("gift"), s("priority"), s("eu")}}),
		attr("lineItems", ddb.Value{Kind: ddb.L, List: []ddb.Value{
			m(attr("sku", s("A-1001")), attr("qty", num("2")), attr("price", num("19.99"))),
			m(attr("sku", s("B-2002")), attr("qty", num("1")), attr("price", num("89.99"))),
		}}),
		attr("address", m(
			attr("street", s("12 Rue de la Paix")),
			attr("city", s("Paris")),
			attr("zip", s("75002")),
			attr("country", s("FR")),
		)),
		attr("gift", ddb.Value{Kind: ddb.BOOL, Bool: i%2 == 0}),
		attr("ratings", ddb.Value{Kind: ddb.NS, List: []ddb.Value{num("4"), num("5"), num("3")}}),
	}
}

func attr(name string, v ddb.Value) ddb.Attr { return ddb.Attr{Name: []byte(name), Value: v} }
func s(v string) ddb.Value                   { return ddb.Value{Kind: ddb.S, Bytes: []byte(v)} }
func num(v string) ddb.Value                 { return ddb.Value{Kind: ddb.N, Bytes: []byte(v)} }
func m(a ...ddb.Attr) ddb.Value              { return ddb.Value{Kind: ddb.M, Map: a} }
