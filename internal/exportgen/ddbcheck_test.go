package exportgen

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// encodeRecordJSON writes a decoded record back as an export line with
// this package's writers, so that "ddb decodes what exportgen writes" can
// be checked byte for byte.
func encodeRecordJSON(rec ddb.Record) []byte {
	var b []byte
	if rec.Item != nil {
		b = append(b, `{"Item":`...)
		b = appendJSONItem(b, rec.Item)
		return append(b, '}')
	}
	b = append(b, `{"Metadata":{"WriteTimestampMicros":{"N":"`...)
	b = strconv.AppendInt(b, rec.WriteTimestampMicros, 10)
	b = append(b, `"}},"Keys":`...)
	b = appendJSONItem(b, rec.Keys)
	if rec.OldImage != nil {
		b = append(b, `,"OldImage":`...)
		b = appendJSONItem(b, rec.OldImage)
	}
	if rec.NewImage != nil {
		b = append(b, `,"NewImage":`...)
		b = appendJSONItem(b, rec.NewImage)
	}
	return append(b, '}')
}

// TestDDBDecodesExports runs the ddb package's decoders over generated
// exports (edge cases included): every JSON line must decode and re-encode
// to the very same bytes, and every Ion line to the same data as the JSON
// export of the same seed.
func TestDDBDecodesExports(t *testing.T) {
	for _, view := range []string{ViewNewAndOld, ViewNew} {
		t.Run(view, func(t *testing.T) {
			oj := small(t.TempDir())
			oj.Items, oj.ChangesPerIncremental, oj.View = 2100, 200, view
			oi := oj
			oi.Dir, oi.Format = t.TempDir(), FormatIon
			rj, ri := generate(t, oj), generate(t, oi)
			dj, err := ddb.NewDecoder(FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			di, err := ddb.NewDecoder(FormatIon)
			if err != nil {
				t.Fatal(err)
			}
			ej, ei := allExports(rj), allExports(ri)
			lines := 0
			for n := range ej {
				xj, xi := readExport(t, oj, ej[n]), readExport(t, oi, ei[n])
				for f := range xj.paths {
					lj, li := gunzipLines(t, xj.paths[f]), gunzipLines(t, xi.paths[f])
					for l := range lj {
						rec, err := dj.Decode(lj[l])
						if err != nil {
							t.Fatalf("ddb JSON decoder: %v\nline: %.300s", err, lj[l])
						}
						if got := encodeRecordJSON(rec); string(got) != string(lj[l]) {
							t.Fatalf("JSON line does not survive ddb decoding:\nwrote:   %.500s\ndecoded: %.500s", lj[l], got)
						}
						rec, err = di.Decode(li[l])
						if err != nil {
							t.Fatalf("ddb Ion decoder: %v\nline: %.300s", err, li[l])
						}
						got, want := jsonCanon(t, encodeRecordJSON(rec)), jsonCanon(t, lj[l])
						normalizeJSONNumbers(got)
						normalizeJSONNumbers(want)
						if !reflect.DeepEqual(got, want) {
							gb, _ := json.Marshal(got)
							wb, _ := json.Marshal(want)
							t.Fatalf("Ion line decodes to other data:\nion:  %.500s\njson: %.500s", gb, wb)
						}
						lines++
					}
				}
			}
			if lines < oj.Items {
				t.Fatalf("checked only %d lines", lines)
			}
		})
	}
}
