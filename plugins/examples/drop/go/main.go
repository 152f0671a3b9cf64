//go:build wasip1

// Command drop is the Go version of the drop example plugin (see
// ../README.md): it removes the configured top-level attributes.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o drop-go.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/floe-io/floe/plugins/guest"
)

func init() { guest.Register(&drop{}) }

func main() {}

type drop struct {
	attributes []string
}

func (*drop) Describe() guest.Info {
	return guest.Info{
		Name:    "drop",
		Version: "1.0.0",
		Parameters: `{"type":"object","properties":{"attributes":{"type":"array","minItems":1,` +
			`"items":{"type":"string","minLength":1},` +
			`"description":"top-level attributes to remove"}},` +
			`"required":["attributes"],"additionalProperties":false}`,
	}
}

func (d *drop) Configure(config []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil || fields == nil {
		return errors.New(`drop: the configuration must be a JSON object such as {"attributes":["notes"]}`)
	}
	for k := range fields {
		if k != "attributes" {
			return fmt.Errorf("drop: unknown configuration key %q (the only key is \"attributes\")", k)
		}
	}
	names, err := stringList(fields["attributes"])
	if err != nil {
		return fmt.Errorf("drop: %v", err)
	}
	d.attributes = names
	return nil
}

// stringList decodes "attributes": a non-empty array of non-empty strings.
func stringList(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New(`"attributes" is missing: list the attributes to remove, e.g. {"attributes":["notes"]}`)
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

const emptyItem = "drop: removing the configured attributes would leave the item with no attributes"

func (d *drop) Transform(in guest.Item, out *guest.Output) {
	// Edit the item: the attributes between the removed ones are copied in
	// one piece each.
	b := out.Modify(in)
	removed := false
	for _, name := range d.attributes {
		if b.Remove(name) {
			removed = true
		}
	}
	switch {
	case !removed:
		out.Pass() // replaces the Modify: the item is returned as 00
	case b.Len() == 0:
		out.Fail(emptyItem)
	}
}
