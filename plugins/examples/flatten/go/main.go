//go:build wasip1

// Command flatten is the Go version of the flatten example plugin (see
// ../README.md): it replaces a top-level M attribute by one top-level
// attribute per map entry, named <attribute><separator><key>.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o flatten-go.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/floe-io/floe/plugins/guest"
)

func init() { guest.Register(&flatten{}) }

func main() {}

type flatten struct {
	attribute string
	prefix    []byte // attribute + separator
	name      []byte // scratch for produced names
}

func (*flatten) Describe() guest.Info {
	return guest.Info{
		Name:    "flatten",
		Version: "1.0.0",
		Parameters: `{"type":"object","properties":{` +
			`"attribute":{"type":"string","minLength":1,"description":"top-level M attribute to flatten"},` +
			`"separator":{"type":"string","default":"_","description":"put between the attribute's name and each key"}},` +
			`"required":["attribute"],"additionalProperties":false}`,
	}
}

func (f *flatten) Configure(config []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil || fields == nil {
		return errors.New(`flatten: the configuration must be a JSON object such as {"attribute":"address","separator":"_"}`)
	}
	for k := range fields {
		if k != "attribute" && k != "separator" {
			return fmt.Errorf("flatten: unknown configuration key %q (the keys are \"attribute\" and \"separator\")", k)
		}
	}
	str := func(k string) (string, error) {
		raw := fields[k]
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
			return "", fmt.Errorf("flatten: %q must be a string, not %s", k, raw)
		}
		return s, nil
	}
	if _, ok := fields["attribute"]; !ok {
		return errors.New(`flatten: "attribute" is missing: name the M attribute to flatten, e.g. {"attribute":"address"}`)
	}
	attr, err := str("attribute")
	if err != nil {
		return err
	}
	if attr == "" {
		return errors.New(`flatten: "attribute" is empty`)
	}
	sep := "_"
	if _, ok := fields["separator"]; ok {
		if sep, err = str("separator"); err != nil {
			return err
		}
	}
	f.attribute = attr
	f.prefix = []byte(attr + sep)
	return nil
}

// produced returns the name of the attribute made of map entry key, in a
// scratch buffer reused for the next call.
func (f *flatten) produced(key []byte) []byte {
	f.name = append(append(f.name[:0], f.prefix...), key...)
	return f.name
}

func (f *flatten) Transform(in guest.Item, out *guest.Output) {
	m, ok := in.Get(f.attribute)
	if !ok || m.Type() != guest.M {
		return // pass
	}
	entries := m.Map()
	if entries.Len() == 0 && in.Len() == 1 {
		out.Fail(`flatten: removing the empty map "` + f.attribute + `" would leave the item with no attributes`)
		return
	}
	// Refuse a produced name that another attribute already has.
	for e := entries.Attrs(); e.Next(); {
		name := f.produced(e.Name())
		if _, ok := in.Get(string(name)); ok {
			out.Fail(`flatten: attribute "` + string(name) + `" already exists`)
			return
		}
	}
	b := out.Modify(guest.Item{})
	for a := in.Attrs(); a.Next(); {
		if string(a.Name()) != f.attribute {
			b.SetAttr(a.Name(), a.Value())
			continue
		}
		for e := entries.Attrs(); e.Next(); {
			b.SetAttr(f.produced(e.Name()), e.Value()) // the name is copied
		}
	}
}
