//go:build wasip1

// Command mask is the Go version of the mask example plugin (see
// ../README.md): it replaces the configured top-level S attributes by the
// lowercase hex SHA-256 of their UTF-8 bytes.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mask-go.wasm .
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/floe-io/floe/plugins/guest"
)

func init() { guest.Register(&mask{}) }

func main() {}

type mask struct {
	attributes []string
}

func (*mask) Describe() guest.Info {
	return guest.Info{
		Name:    "mask",
		Version: "1.0.0",
		Parameters: `{"type":"object","properties":{"attributes":{"type":"array","minItems":1,` +
			`"items":{"type":"string","minLength":1},` +
			`"description":"top-level S attributes to replace by the hex SHA-256 of their value"}},` +
			`"required":["attributes"],"additionalProperties":false}`,
	}
}

func (m *mask) Configure(config []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil || fields == nil {
		return errors.New(`mask: the configuration must be a JSON object such as {"attributes":["email"]}`)
	}
	for k := range fields {
		if k != "attributes" {
			return fmt.Errorf("mask: unknown configuration key %q (the only key is \"attributes\")", k)
		}
	}
	names, err := stringList(fields["attributes"])
	if err != nil {
		return fmt.Errorf("mask: %v", err)
	}
	m.attributes = names
	return nil
}

// stringList decodes "attributes": a non-empty array of non-empty strings.
func stringList(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New(`"attributes" is missing: list the attributes to mask, e.g. {"attributes":["email"]}`)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return nil, fmt.Errorf(`"attributes" must be an array of attribute names, not %s`, raw)
	}
	if len(elems) == 0 {
		return nil, errors.New(`"attributes" is empty: list at least one attribute`)
	}
	names := make([]string, len(elems))
	for i, e := range elems {
		if err := json.Unmarshal(e, &names[i]); err != nil || e[0] != '"' {
			return nil, fmt.Errorf(`"attributes"[%d] must be a string, not %s`, i, e)
		}
		if names[i] == "" {
			return nil, fmt.Errorf(`"attributes"[%d] is an empty name`, i)
		}
	}
	return names, nil
}

func (m *mask) Transform(in guest.Item, out *guest.Output) {
	var b *guest.Builder
	for _, name := range m.attributes {
		v, ok := in.Get(name)
		if !ok || v.Type() != guest.S {
			continue
		}
		if b == nil {
			b = out.Modify(in) // all attributes, in order
		}
		sum := sha256.Sum256(v.Bytes())
		b.SetString(name, hex.EncodeToString(sum[:])) // replaced in place
	}
	// No listed S attribute: the item passes (the default verdict).
}
