package guest_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/floe-io/floe/plugins/guest"
)

// upper upper-cases the S value of one configured attribute.
type upper struct{ attribute string }

func (*upper) Describe() guest.Info {
	return guest.Info{
		Name:       "upper",
		Version:    "1.0.0",
		Parameters: `{"type":"object","properties":{"attribute":{"type":"string"}},"required":["attribute"]}`,
	}
}

func (u *upper) Configure(config []byte) error {
	var c struct{ Attribute string }
	if err := json.Unmarshal(config, &c); err != nil || c.Attribute == "" {
		return fmt.Errorf(`upper: want {"attribute":"<name>"}`)
	}
	u.attribute = c.Attribute
	return nil
}

func (u *upper) Transform(in guest.Item, out *guest.Output) {
	v, ok := in.Get(u.attribute)
	switch {
	case !ok || v.Type() != guest.S:
		return // passes
	case v.Text() == "":
		out.Fail(u.attribute + " is empty")
	default:
		out.Modify(in).SetString(u.attribute, strings.ToUpper(v.Text()))
	}
}

// A plugin is a type implementing guest.Plugin, registered from an init
// function of a main package built for wasip1:
//
//	func init() { guest.Register(&upper{}) }
//	func main() {}
//
// Its tests run it natively with the harness, as here.
func Example() {
	outcomes, err := guest.Run(&upper{}, `{"attribute":"name"}`,
		`{"id":{"S":"1"},"name":{"S":"ada"},"born":{"N":"1815"}}`,
		`{"id":{"S":"2"},"name":{"N":"7"}}`,
		`{"id":{"S":"3"},"name":{"S":""}}`,
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range outcomes {
		fmt.Println(o)
	}
	// Output:
	// modified [{"id":{"S":"1"},"name":{"S":"ADA"},"born":{"N":"1815"}}]
	// pass
	// error "name is empty"
}

// Reading every attribute of an item, whatever its type.
func ExampleItem_Attrs() {
	item, _ := guest.EncodeItem(`{"id":{"S":"u1"},"tags":{"SS":["a","b"]},"address":{"M":{"city":{"S":"Oslo"}}}}`)
	for a := item.Attrs(); a.Next(); {
		v := a.Value()
		switch v.Type() {
		case guest.SS:
			for e := v.Elems(); e.Next(); {
				fmt.Printf("%s has %s\n", a.Name(), e.Bytes())
			}
		case guest.M:
			city, _ := v.Map().Get("city")
			fmt.Printf("%s in %s\n", a.Name(), city.Text())
		default:
			fmt.Printf("%s = %v\n", a.Name(), v)
		}
	}
	// Output:
	// id = {"S":"u1"}
	// tags has a
	// tags has b
	// address in Oslo
}
