package ddb

import (
	"errors"
	"strings"
	"testing"
)

// Constructors that keep expected values in tables short.

func vS(s string) Value { return Value{Kind: S, Bytes: []byte(s)} }
func vN(s string) Value { return Value{Kind: N, Bytes: []byte(s)} }
func vB(b string) Value { return Value{Kind: B, Bytes: []byte(b)} }
func vBool(b bool) Value {
	return Value{Kind: BOOL, Bool: b}
}
func vNull() Value { return Value{Kind: NULL} }
func vSS(s ...string) Value {
	v := Value{Kind: SS}
	for _, e := range s {
		v.List = append(v.List, vS(e))
	}
	return v
}
func vNS(s ...string) Value {
	v := Value{Kind: NS}
	for _, e := range s {
		v.List = append(v.List, vN(e))
	}
	return v
}
func vBS(s ...string) Value {
	v := Value{Kind: BS}
	for _, e := range s {
		v.List = append(v.List, vB(e))
	}
	return v
}
func vL(e ...Value) Value { return Value{Kind: L, List: e} }
func vM(a ...Attr) Value  { return Value{Kind: M, Map: a} }
func at(name string, v Value) Attr {
	return Attr{Name: []byte(name), Value: v}
}
func item(a ...Attr) Item { return Item(a) }

// orderJSON is a realistic order item of about 500 bytes: nested M and L,
// sets, decimals.
const orderJSON = `{"Item":{"pk":{"S":"CUSTOMER#48213"},"sk":{"S":"ORDER#2024-03-17T09:21:44Z#7f3a"},` +
	`"status":{"S":"SHIPPED"},"total":{"N":"129.97"},"currency":{"S":"EUR"},"express":{"BOOL":false},` +
	`"coupon":{"NULL":true},"tags":{"SS":["gift","priority"]},"weights":{"NS":["0.5","1.25"]},` +
	`"items":{"L":[{"M":{"sku":{"S":"A-1001"},"qty":{"N":"2"},"price":{"N":"19.99"}}},` +
	`{"M":{"sku":{"S":"B-2002"},"qty":{"N":"1"},"price":{"N":"89.99"}}}]},` +
	`"shipping":{"M":{"name":{"S":"Jane Doe"},"street":{"S":"12 Rue de la Paix"},"city":{"S":"Paris"},` +
	`"zip":{"S":"75002"},"country":{"S":"FR"}}},"thumb":{"B":"iVBORw0KGgo="}}}`

var orderItem = item(
	at("pk", vS("CUSTOMER#48213")),
	at("sk", vS("ORDER#2024-03-17T09:21:44Z#7f3a")),
	at("status", vS("SHIPPED")),
	at("total", vN("129.97")),
	at("currency", vS("EUR")),
	at("express", vBool(false)),
	at("coupon", vNull()),
	at("tags", vSS("gift", "priority")),
	at("weights", vNS("0.5", "1.25")),
	at("items", vL(
		vM(at("sku", vS("A-1001")), at("qty", vN("2")), at("price", vN("19.99"))),
		vM(at("sku", vS("B-2002")), at("qty", vN("1")), at("price", vN("89.99"))),
	)),
	at("shipping", vM(
		at("name", vS("Jane Doe")), at("street", vS("12 Rue de la Paix")), at("city", vS("Paris")),
		at("zip", vS("75002")), at("country", vS("FR")),
	)),
	at("thumb", vB("\x89PNG\r\n\x1a\n")),
)

// wantDecodeError checks that err is a *DecodeError whose text contains
// msg and whose attribute path is attr.
func wantDecodeError(t *testing.T, err error, msg, attr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", msg)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is %T, want *DecodeError", err, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
	if de.Attr != attr {
		t.Errorf("error %q: Attr = %q, want %q", err, de.Attr, attr)
	}
}

// nested returns an item whose attribute "a" holds depth levels of M.
func nestedJSON(depth int) string {
	var b strings.Builder
	b.WriteString(`{"Item":{"a":`)
	for range depth {
		b.WriteString(`{"M":{"x":`)
	}
	b.WriteString(`{"S":"leaf"}`)
	for range depth {
		b.WriteString(`}}`)
	}
	b.WriteString(`}}`)
	return b.String()
}
