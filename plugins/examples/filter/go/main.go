//go:build wasip1

// Command filter is the Go version of the filter example plugin (see
// ../README.md): it drops the items whose configured top-level attribute
// is an S value equal to the configured string.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter-go.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/floe-io/floe/plugins/guest"
)

func init() { guest.Register(&filter{}) }

func main() {}

type filter struct {
	attribute string
	equals    string
}

func (*filter) Describe() guest.Info {
	return guest.Info{
		Name:    "filter",
		Version: "1.0.0",
		Parameters: `{"type":"object","properties":{` +
			`"attribute":{"type":"string","minLength":1,"description":"top-level attribute to test"},` +
			`"equals":{"type":"string","description":"items whose attribute is this S value are dropped"}},` +
			`"required":["attribute","equals"],"additionalProperties":false}`,
	}
}

func (f *filter) Configure(config []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil || fields == nil {
		return errors.New(`filter: the configuration must be a JSON object such as {"attribute":"status","equals":"CANCELLED"}`)
	}
	for k := range fields {
		if k != "attribute" && k != "equals" {
			return fmt.Errorf("filter: unknown configuration key %q (the keys are \"attribute\" and \"equals\")", k)
		}
	}
	for _, k := range []string{"attribute", "equals"} {
		raw, ok := fields[k]
		if !ok {
			return fmt.Errorf("filter: %q is missing", k)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
			return fmt.Errorf("filter: %q must be a string, not %s", k, raw)
		}
		if k == "attribute" {
			if s == "" {
				return errors.New(`filter: "attribute" is empty`)
			}
			f.attribute = s
		} else {
			f.equals = s
		}
	}
	return nil
}

func (f *filter) Transform(in guest.Item, out *guest.Output) {
	if v, ok := in.Get(f.attribute); ok && v.Type() == guest.S && string(v.Bytes()) == f.equals {
		out.Drop()
	}
	// Otherwise the item passes (the default verdict).
}
