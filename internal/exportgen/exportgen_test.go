package exportgen

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amazon-ion/ion-go/ion"
	"github.com/klauspost/compress/gzip"
)

// small is the base configuration of the tests: enough items for several
// partitions and every random branch, small enough for a shared 2-core box.
func small(dir string) Options {
	return Options{
		Dir:                   dir,
		Items:                 3000,
		Files:                 4,
		Incrementals:          3,
		ChangesPerIncremental: 400,
		IncrementalFiles:      3,
		Seed:                  42,
		Edge:                  true,
		Workers:               2,
	}
}

func generate(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Generate(context.Background(), o)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return res
}

func allExports(res *Result) []ExportInfo {
	return append([]ExportInfo{res.Full}, res.Incrementals...)
}

// treeHash digests every file's relative path and content.
func treeHash(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", filepath.ToSlash(rel), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func gunzipLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(raw) == 0 {
		return nil
	}
	if raw[len(raw)-1] != '\n' {
		t.Fatalf("%s: last line has no newline", path)
	}
	return bytes.Split(raw[:len(raw)-1], []byte("\n"))
}

type manifestFile struct {
	ItemCount     int64  `json:"itemCount"`
	MD5Checksum   string `json:"md5Checksum"`
	ETag          string `json:"etag"`
	DataFileS3Key string `json:"dataFileS3Key"`
}

type export struct {
	summary map[string]any
	files   []manifestFile
	paths   []string // local paths of the data files, in manifest order
}

// readExport reads and checks an export's manifests against their .md5
// files, and maps the manifest's keys to local paths.
func readExport(t *testing.T, o Options, info ExportInfo) export {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	var e export
	for _, name := range []string{"manifest-summary", "manifest-files"} {
		b, err := os.ReadFile(filepath.Join(info.Dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		md5b, err := os.ReadFile(filepath.Join(info.Dir, name+".md5"))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b)
		if want := base64.StdEncoding.EncodeToString(sum[:]); string(md5b) != want {
			t.Errorf("%s.md5 = %q, want %q", name, md5b, want)
		}
		if name == "manifest-summary" {
			if err := json.Unmarshal(b, &e.summary); err != nil {
				t.Fatalf("summary: %v", err)
			}
			continue
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			var f manifestFile
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				t.Fatalf("manifest-files line %q: %v", line, err)
			}
			e.files = append(e.files, f)
			rel, ok := strings.CutPrefix(f.DataFileS3Key, o.Prefix+"/")
			if !ok {
				t.Fatalf("key %q lacks prefix %q", f.DataFileS3Key, o.Prefix)
			}
			e.paths = append(e.paths, filepath.Join(o.Dir, filepath.FromSlash(rel)))
		}
	}
	return e
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Options)
	}{
		{"json", func(*Options) {}},
		{"ion", func(o *Options) { o.Format = FormatIon }},
		{"new-image", func(o *Options) { o.View = ViewNew; o.Workers = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hashes []string
			for run := 0; run < 2; run++ {
				o := small(t.TempDir())
				o.Items, o.ChangesPerIncremental = 1500, 200
				tc.change(&o)
				if run == 1 {
					o.Workers = 3 // the split of work must not change a byte
				}
				generate(t, o)
				hashes = append(hashes, treeHash(t, o.Dir))
			}
			if hashes[0] != hashes[1] {
				t.Fatalf("two runs differ: %s vs %s", hashes[0], hashes[1])
			}
			o := small(t.TempDir())
			o.Items, o.ChangesPerIncremental = 1500, 200
			tc.change(&o)
			o.Seed++
			generate(t, o)
			if treeHash(t, o.Dir) == hashes[0] {
				t.Fatal("another seed gave the same tree")
			}
		})
	}
}

var (
	exportIDRe = regexp.MustCompile(`^[0-9]{14}-[0-9a-f]{8}$`)
	dataNameRe = regexp.MustCompile(`^[a-z2-7]{26}\.(json|ion)\.gz$`)
)

func TestManifestsAndDataFiles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		change     func(*Options)
		wantFiles  int
		wantIncrFs int
	}{
		{"json", func(*Options) {}, 4, 3},
		{"ion", func(o *Options) { o.Format = FormatIon }, 4, 3},
		{"one-file", func(o *Options) { o.Files, o.IncrementalFiles = 1, 1 }, 1, 1},
		{"defaults", func(o *Options) { o.Files, o.IncrementalFiles, o.Prefix, o.Bucket = 0, 0, "", "" }, 1, 1},
		{"more-files-than-customers", func(o *Options) { o.Items, o.Files = 8, 5 }, 5, 3},
		{"no-items", func(o *Options) { o.Items, o.Files = 0, 2 }, 2, 3},
		{"custom-prefix", func(o *Options) { o.Prefix, o.Bucket = "/a/b/", "bkt" }, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := small(t.TempDir())
			o.ChangesPerIncremental = 300
			tc.change(&o)
			res := generate(t, o)
			o, _ = o.withDefaults()
			var prevTo time.Time
			var prevEnd time.Time
			for n, info := range allExports(res) {
				incremental := n > 0
				if !exportIDRe.MatchString(info.ID) {
					t.Errorf("export id %q", info.ID)
				}
				if fi, err := os.Stat(filepath.Join(info.Dir, "_started")); err != nil || fi.Size() != 0 {
					t.Errorf("_started: %v", err)
				}
				_, err := os.Stat(filepath.Join(info.Dir, "data"))
				if incremental != errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: data folder present = %v", info.ID, err == nil)
				}
				e := readExport(t, o, info)
				want := tc.wantFiles
				if incremental {
					want = tc.wantIncrFs
				}
				if len(e.files) != want || info.Files != want {
					t.Errorf("%s: %d files (info %d), want %d", info.ID, len(e.files), info.Files, want)
				}
				var total, empty int64
				for i, f := range e.files {
					dataDir := o.Prefix + "/AWSDynamoDB/" + info.ID + "/data/"
					if incremental {
						dataDir = o.Prefix + "/AWSDynamoDB/data/"
					}
					name, ok := strings.CutPrefix(f.DataFileS3Key, dataDir)
					if !ok || !dataNameRe.MatchString(name) || !strings.HasSuffix(name, map[string]string{FormatJSON: ".json.gz", FormatIon: ".ion.gz"}[o.Format]) {
						t.Errorf("data key %q", f.DataFileS3Key)
					}
					b, err := os.ReadFile(e.paths[i])
					if err != nil {
						t.Fatal(err)
					}
					sum := md5.Sum(b)
					if f.MD5Checksum != base64.StdEncoding.EncodeToString(sum[:]) || f.ETag != hex.EncodeToString(sum[:]) {
						t.Errorf("%s: checksum mismatch", name)
					}
					lines := gunzipLines(t, e.paths[i])
					if int64(len(lines)) != f.ItemCount {
						t.Errorf("%s: %d lines, manifest says %d", name, len(lines), f.ItemCount)
					}
					total += f.ItemCount
					if f.ItemCount == 0 {
						empty++
						if len(b) != 20 {
							t.Errorf("%s: empty partition is %d bytes, want 20", name, len(b))
						}
					}
				}
				if want > 1 && (o.Items > 0 || incremental) && empty == 0 {
					t.Errorf("%s: %d files and no empty partition", info.ID, want)
				}
				s := e.summary
				if got := int64(s["itemCount"].(float64)); got != total || got != info.ItemCount {
					t.Errorf("summary itemCount %d, files %d, info %d", got, total, info.ItemCount)
				}
				wantStr := map[string]string{
					"version":            "2020-06-30",
					"exportArn":          "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/export/" + info.ID,
					"tableArn":           "arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
					"s3Bucket":           o.Bucket,
					"s3Prefix":           o.Prefix,
					"s3SseAlgorithm":     "AES256",
					"manifestFilesS3Key": o.Prefix + "/AWSDynamoDB/" + info.ID + "/manifest-files.json",
					"outputFormat":       o.Format,
					"exportType":         "FULL_EXPORT",
				}
				if incremental {
					wantStr["exportType"] = "INCREMENTAL_EXPORT"
					wantStr["outputView"] = o.View
				}
				for k, v := range wantStr {
					if s[k] != v {
						t.Errorf("%s: summary %s = %v, want %q", info.ID, k, s[k], v)
					}
				}
				if v, ok := s["s3SseKmsKeyId"]; !ok || v != nil {
					t.Errorf("s3SseKmsKeyId = %v, %v", v, ok)
				}
				times := map[string]time.Time{}
				for _, k := range []string{"startTime", "endTime", "exportTime", "exportFromTime", "exportToTime"} {
					v, ok := s[k].(string)
					if !ok {
						continue
					}
					tm, err := time.Parse("2006-01-02T15:04:05.000Z", v)
					if err != nil {
						t.Errorf("%s = %q: %v", k, v, err)
					}
					times[k] = tm
				}
				_, hasExportTime := times["exportTime"]
				_, hasFrom := times["exportFromTime"]
				if hasExportTime == incremental || hasFrom != incremental {
					t.Errorf("%s: exportTime present %v, exportFromTime present %v", info.ID, hasExportTime, hasFrom)
				}
				if !times["endTime"].After(times["startTime"]) || times["startTime"].Before(prevEnd) {
					t.Errorf("%s: job times %v..%v after previous end %v", info.ID, times["startTime"], times["endTime"], prevEnd)
				}
				prevEnd = times["endTime"]
				if incremental {
					if !times["exportFromTime"].Equal(prevTo) || !times["exportToTime"].Equal(prevTo.Add(o.Window)) {
						t.Errorf("%s: window %v..%v, previous ended %v", info.ID, times["exportFromTime"], times["exportToTime"], prevTo)
					}
					if times["startTime"].Before(times["exportToTime"]) {
						t.Errorf("%s: started before its window closed", info.ID)
					}
					prevTo = times["exportToTime"]
				} else {
					if !times["exportTime"].Equal(o.StartTime) {
						t.Errorf("exportTime %v, want %v", times["exportTime"], o.StartTime)
					}
					prevTo = times["exportTime"]
					if info.ItemCount != int64(o.Items) {
						t.Errorf("full export has %d items, want %d", info.ItemCount, o.Items)
					}
				}
			}
		})
	}
}

func TestEmptyGzipIsCanonical(t *testing.T) {
	o := small(t.TempDir())
	o.Incrementals = 0
	res := generate(t, o)
	e := readExport(t, o, res.Full)
	for i, f := range e.files {
		if f.ItemCount != 0 {
			continue
		}
		b, _ := os.ReadFile(e.paths[i])
		// header (no name, no mtime), final empty deflate block, CRC 0, size 0
		want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}
		if !bytes.Equal(b, want) {
			t.Fatalf("empty partition bytes % x, want % x", b, want)
		}
		return
	}
	t.Fatal("no empty partition")
}

// record is an incremental export line as encoding/json sees it.
type record struct {
	Metadata struct {
		WriteTimestampMicros struct{ N string }
	}
	Keys     map[string]json.RawMessage
	OldImage map[string]json.RawMessage
	NewImage map[string]json.RawMessage
}

func keyOf(t *testing.T, m map[string]json.RawMessage) string {
	t.Helper()
	var pk, sk struct{ S string }
	if json.Unmarshal(m["pk"], &pk) != nil || json.Unmarshal(m["sk"], &sk) != nil || pk.S == "" || sk.S == "" {
		t.Fatalf("bad keys %s %s", m["pk"], m["sk"])
	}
	return pk.S + "\x00" + sk.S
}

// canon renders an item with sorted attribute names, so two items compare
// equal whatever order their attributes were written in.
func canon(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func canonMap(t *testing.T, m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return canon(t, b)
}

// TestExpectedState replays the exports with a deliberately naive model (a
// map from key to item, filled from the full export's lines and updated by
// each record) and compares it with every expected-state file.
func TestExpectedState(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Options)
	}{
		{"new-and-old", func(*Options) {}},
		{"new-image", func(o *Options) { o.View = ViewNew }},
		{"churn", func(o *Options) {
			// More changes than items: the table drains, keys get deleted
			// and re-inserted, inserts dominate.
			o.Items, o.Files, o.Incrementals, o.ChangesPerIncremental = 300, 3, 6, 250
		}},
		{"empty-table", func(o *Options) { o.Items, o.Incrementals, o.ChangesPerIncremental = 0, 2, 50 }},
		{"many-chunks", func(o *Options) { o.Items, o.Edge, o.Incrementals, o.ChangesPerIncremental = 17000, false, 1, 3000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := small(t.TempDir())
			tc.change(&o)
			res := generate(t, o)
			o, _ = o.withDefaults()
			state := map[string]string{}
			e := readExport(t, o, res.Full)
			for _, p := range e.paths {
				for _, line := range gunzipLines(t, p) {
					var full struct{ Item map[string]json.RawMessage }
					if err := json.Unmarshal(line, &full); err != nil || full.Item == nil {
						t.Fatalf("full line %s: %v", line, err)
					}
					k := keyOf(t, full.Item)
					if _, dup := state[k]; dup {
						t.Fatalf("duplicate key %q in full export", k)
					}
					state[k] = canonMap(t, full.Item)
				}
			}
			checkExpected(t, res.Full, state)
			reinserted := 0
			deletedEver := map[string]bool{}
			for _, info := range res.Incrementals {
				e := readExport(t, o, info)
				from, _ := time.Parse("2006-01-02T15:04:05.000Z", e.summary["exportFromTime"].(string))
				to, _ := time.Parse("2006-01-02T15:04:05.000Z", e.summary["exportToTime"].(string))
				seen := map[string]bool{}
				var ins, upd, del int
				for _, p := range e.paths {
					for _, line := range gunzipLines(t, p) {
						var r record
						if err := json.Unmarshal(line, &r); err != nil {
							t.Fatalf("record %s: %v", line, err)
						}
						k := keyOf(t, r.Keys)
						if len(r.Keys) != 2 {
							t.Fatalf("Keys has %d attributes", len(r.Keys))
						}
						if seen[k] {
							t.Fatalf("%s: two records for %q", info.ID, k)
						}
						seen[k] = true
						var ts int64
						if _, err := fmt.Sscan(r.Metadata.WriteTimestampMicros.N, &ts); err != nil || ts < from.UnixMicro() || ts >= to.UnixMicro() {
							t.Fatalf("WriteTimestampMicros %q outside [%v, %v)", r.Metadata.WriteTimestampMicros.N, from, to)
						}
						for _, img := range []map[string]json.RawMessage{r.OldImage, r.NewImage} {
							if img != nil && (keyOf(t, img) != k) {
								t.Fatalf("image keys differ from Keys in %s", line)
							}
						}
						cur, exists := state[k]
						switch {
						case o.View == ViewNewAndOld && r.NewImage != nil && r.OldImage == nil: // insert
							if exists {
								t.Fatalf("insert of live key %q", k)
							}
							if deletedEver[k] {
								reinserted++
							}
							ins++
						case o.View == ViewNewAndOld && r.NewImage != nil: // update
							if !exists || canonMap(t, r.OldImage) != cur {
								t.Fatalf("update of %q: OldImage does not match the current item\nold: %s\ncur: %s", k, canonMap(t, r.OldImage), cur)
							}
							upd++
						case o.View == ViewNewAndOld: // delete
							if r.OldImage == nil || !exists || canonMap(t, r.OldImage) != cur {
								t.Fatalf("delete of %q: OldImage does not match the current item", k)
							}
							del++
						case r.OldImage != nil:
							t.Fatalf("NEW_IMAGE view carries an OldImage: %s", line)
						case r.NewImage != nil: // insert or update
							if exists {
								upd++
							} else {
								ins++
							}
						default: // delete: Keys only
							if !exists {
								t.Fatalf("delete of missing key %q", k)
							}
							del++
						}
						if r.NewImage != nil {
							state[k] = canonMap(t, r.NewImage)
						} else {
							delete(state, k)
							deletedEver[k] = true
						}
					}
				}
				if ins != info.Inserts || upd != info.Updates || del != info.Deletes {
					t.Errorf("%s: counted %d/%d/%d inserts/updates/deletes, info says %d/%d/%d",
						info.ID, ins, upd, del, info.Inserts, info.Updates, info.Deletes)
				}
				if ins+upd+del != o.ChangesPerIncremental {
					t.Errorf("%s: %d records, want %d", info.ID, ins+upd+del, o.ChangesPerIncremental)
				}
				checkExpected(t, info, state)
			}
			if tc.name == "churn" && reinserted == 0 {
				t.Error("no deleted key was ever re-inserted")
			}
		})
	}
}

func checkExpected(t *testing.T, info ExportInfo, state map[string]string) {
	t.Helper()
	var keys []string
	err := ReadExpected(context.Background(), info.ExpectedPath, func(line []byte) error {
		var full struct{ Item map[string]json.RawMessage }
		if err := json.Unmarshal(line, &full); err != nil {
			return err
		}
		k := keyOf(t, full.Item)
		if want, ok := state[k]; !ok {
			return fmt.Errorf("expected state has %q, replay does not", k)
		} else if got := canonMap(t, full.Item); got != want {
			return fmt.Errorf("item %q differs:\nexpected file: %s\nreplay:        %s", k, got, want)
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", info.ID, err)
	}
	if len(keys) != len(state) || int64(len(keys)) != info.ExpectedItems {
		t.Fatalf("%s: expected state has %d items (info %d), replay %d", info.ID, len(keys), info.ExpectedItems, len(state))
	}
	// (pk, sk) byte order: pk and sk hold no NUL, so the joined keys sort
	// the same way as the pairs.
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Fatalf("%s: expected state not sorted at %d: %q >= %q", info.ID, i, keys[i-1], keys[i])
		}
	}
}

// ionToCanon converts the Ion value under r to the same shape encoding/json
// gives the DynamoDB JSON of that value, so a JSON export and an Ion export
// of the same data can be compared.
func ionToCanon(t *testing.T, r ion.Reader) any {
	t.Helper()
	ann, err := r.Annotations()
	if err != nil {
		t.Fatal(err)
	}
	typed := func(k string, v any) any { return map[string]any{k: v} }
	switch r.Type() {
	case ion.NullType:
		return typed("NULL", true)
	case ion.BoolType:
		b, _ := r.BoolValue()
		return typed("BOOL", *b)
	case ion.StringType:
		s, _ := r.StringValue()
		return typed("S", *s)
	case ion.DecimalType:
		d, _ := r.DecimalValue()
		return typed("N", decimalText(d))
	case ion.BlobType:
		b, _ := r.ByteValue()
		return typed("B", base64.StdEncoding.EncodeToString(b))
	case ion.ListType:
		kind := "L"
		if len(ann) == 1 && ann[0].Text != nil {
			kind = strings.TrimPrefix(*ann[0].Text, "$dynamodb_")
		}
		var out []any
		if err := r.StepIn(); err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			v := ionToCanon(t, r)
			if kind != "L" {
				for _, x := range v.(map[string]any) {
					v = x
				}
			}
			out = append(out, v)
		}
		if err := r.StepOut(); err != nil {
			t.Fatal(err)
		}
		if out == nil {
			out = []any{}
		}
		return typed(kind, out)
	case ion.StructType:
		return typed("M", ionStruct(t, r))
	}
	t.Fatalf("unexpected Ion type %v", r.Type())
	return nil
}

func ionStruct(t *testing.T, r ion.Reader) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := r.StepIn(); err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		name, err := r.FieldName()
		if err != nil || name == nil || name.Text == nil {
			t.Fatalf("field name: %v", err)
		}
		out[*name.Text] = ionToCanon(t, r)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.StepOut(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decimalText prints an Ion decimal as DynamoDB JSON would: plain, no
// exponent, no trailing fractional zeros.
func decimalText(d *ion.Decimal) string {
	co, ex := d.CoEx()
	rat := new(big.Rat).SetInt(co)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(ex))), nil)
	if ex >= 0 {
		rat.Mul(rat, new(big.Rat).SetInt(p))
	} else {
		rat.Quo(rat, new(big.Rat).SetInt(p))
	}
	return plainRat(rat)
}

func plainRat(r *big.Rat) string {
	s := r.FloatString(200)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// jsonCanon parses a DynamoDB JSON line into the shape ionToCanon builds.
func jsonCanon(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestIonMatchesJSON parses the Ion export with the reference Ion library
// and checks it carries exactly the data of the JSON export of the same
// seed, line by line; the expected states must be byte-identical.
func TestIonMatchesJSON(t *testing.T) {
	for _, view := range []string{ViewNewAndOld, ViewNew} {
		t.Run(view, func(t *testing.T) {
			oj := small(t.TempDir())
			oj.Items, oj.ChangesPerIncremental, oj.Incrementals, oj.View = 1200, 150, 2, view
			oi := oj
			oi.Dir, oi.Format = t.TempDir(), FormatIon
			rj, ri := generate(t, oj), generate(t, oi)
			ej, ei := allExports(rj), allExports(ri)
			for n := range ej {
				xj, xi := readExport(t, oj, ej[n]), readExport(t, oi, ei[n])
				if xi.summary["outputFormat"] != FormatIon {
					t.Errorf("outputFormat %v", xi.summary["outputFormat"])
				}
				for f := range xj.paths {
					lj, li := gunzipLines(t, xj.paths[f]), gunzipLines(t, xi.paths[f])
					if len(lj) != len(li) {
						t.Fatalf("file %d: %d JSON lines, %d Ion lines", f, len(lj), len(li))
					}
					for l := range lj {
						if !bytes.HasPrefix(li[l], []byte("$ion_1_0 {")) {
							t.Fatalf("Ion line without version marker: %.40s", li[l])
						}
						r := ion.NewReaderBytes(li[l])
						// ion-go v1.5 surfaces the version marker as a
						// symbol value instead of consuming it; skip it.
						if !r.Next() || r.Type() != ion.SymbolType || !r.Next() || r.Type() != ion.StructType {
							t.Fatalf("Ion line %q: %v", li[l], r.Err())
						}
						got := map[string]any{}
						for k, v := range ionStruct(t, r) {
							// Top-level members are containers, not values.
							got[k] = v.(map[string]any)["M"]
						}
						if r.Next() {
							t.Fatalf("more than one value on an Ion line")
						}
						if md, ok := got["Metadata"].(map[string]any); ok {
							got["Metadata"] = map[string]any{"WriteTimestampMicros": md["WriteTimestampMicros"]}
						}
						want := jsonCanon(t, lj[l])
						normalizeJSONNumbers(want)
						if !reflect.DeepEqual(got, want) {
							gb, _ := json.Marshal(got)
							wb, _ := json.Marshal(want)
							t.Fatalf("file %d line %d:\nion:  %s\njson: %s", f, l, gb, wb)
						}
					}
				}
				bj, _ := os.ReadFile(ej[n].ExpectedPath)
				bi, _ := os.ReadFile(ei[n].ExpectedPath)
				if !bytes.Equal(bj, bi) {
					t.Errorf("expected states of the JSON and Ion exports differ")
				}
			}
		})
	}
}

// normalizeJSONNumbers rewrites N texts through big.Rat, as decimalText
// does for Ion, so that both sides print numbers the same way.
func normalizeJSONNumbers(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "N" {
				r, _ := new(big.Rat).SetString(s)
				x[k] = plainRat(r)
				continue
			}
			if arr, ok := e.([]any); ok && k == "NS" {
				for i, s := range arr {
					r, _ := new(big.Rat).SetString(s.(string))
					arr[i] = plainRat(r)
				}
				continue
			}
			normalizeJSONNumbers(e)
		}
	case []any:
		for _, e := range x {
			normalizeJSONNumbers(e)
		}
	}
}

func TestEdgeItems(t *testing.T) {
	o := small(t.TempDir())
	o.Items, o.Incrementals = 2100, 0
	res := generate(t, o)
	e := readExport(t, o, res.Full)
	edges, bigBinaries := 0, 0
	for _, p := range e.paths {
		for _, line := range gunzipLines(t, p) {
			var full struct{ Item map[string]map[string]any }
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&full); err != nil {
				t.Fatal(err)
			}
			it := full.Item
			if _, ok := it["escapes"]; !ok {
				continue
			}
			edges++
			for _, name := range []string{"shipping note", "meta.source", "größe", "注文", "Status", "status", "it's", "null"} {
				if it[name]["S"] == nil {
					t.Errorf("edge item lacks %q", name)
				}
			}
			if got := it["escapes"]["S"]; got != "quote\" backslash\\ slash/ newline\n tab\t cr\r ctrl\x01\x1f del\x7f é ß 日本 😀 \u2028 </script>" {
				t.Errorf("escapes round-tripped to %q", got)
			}
			if it["empty"]["S"] != "" {
				t.Errorf("empty = %v", it["empty"])
			}
			if n := strings.Trim(it["bigInt"]["N"].(string), "-."); len(n) != 38 {
				t.Errorf("bigInt has %d digits", len(n))
			}
			if n := strings.NewReplacer("-", "", ".", "").Replace(it["bigDecimal"]["N"].(string)); len(n) != 38 {
				t.Errorf("bigDecimal has %d digits", len(n))
			}
			depth, v := 0, any(it["deep"])
			for {
				m, ok := v.(map[string]any)["M"].(map[string]any)
				if !ok {
					break
				}
				depth++
				if next, ok := m["level"]; ok {
					v = next
				} else {
					v = m["leaf"]
				}
			}
			if depth != 32 {
				t.Errorf("deep nests %d maps, want 32", depth)
			}
			if len(it["mixed"]["L"].([]any)) < 6 {
				t.Errorf("mixed list too short")
			}
			if b, ok := it["bigBinary"]; ok {
				raw, err := base64.StdEncoding.DecodeString(b["B"].(string))
				if err != nil || len(raw) != bigBinarySize {
					t.Errorf("bigBinary: %d bytes, %v", len(raw), err)
				}
				bigBinaries++
			}
		}
	}
	if edges != (2100+edgeEvery-1)/edgeEvery || bigBinaries != 2 {
		t.Errorf("%d edge items and %d big binaries", edges, bigBinaries)
	}
}

// TestItemShape checks the ordinary items: attribute types, the spread of
// optional attributes, and the size the benchmark figures assume.
func TestItemShape(t *testing.T) {
	o := small(t.TempDir())
	o.Items, o.Incrementals, o.Edge = 4000, 0, false
	res := generate(t, o)
	if per := res.Full.Bytes / int64(o.Items); per < 400 || per > 750 {
		t.Errorf("%d bytes per item, want about 500", per)
	}
	present := map[string]int{}
	amount2dp := 0
	amountRe := regexp.MustCompile(`^[1-9][0-9]*(\.[0-9]?[1-9])?$`)
	e := readExport(t, o, res.Full)
	for _, p := range e.paths {
		for _, line := range gunzipLines(t, p) {
			var full struct {
				Item map[string]map[string]json.RawMessage
			}
			if err := json.Unmarshal(line, &full); err != nil {
				t.Fatal(err)
			}
			for name, v := range full.Item {
				for kind := range v {
					present[name+":"+kind]++
				}
			}
			var amount string
			_ = json.Unmarshal(full.Item["amount"]["N"], &amount)
			if !amountRe.MatchString(amount) {
				t.Errorf("amount %q is not a normalized decimal", amount)
			}
			if i := strings.IndexByte(amount, '.'); i >= 0 && len(amount)-i == 3 {
				amount2dp++
			}
		}
	}
	for _, tc := range []struct {
		attr     string
		min, max float64
	}{
		{"pk:S", 1, 1}, {"sk:S", 1, 1}, {"status:S", 1, 1}, {"amount:N", 1, 1}, {"quantity:N", 1, 1},
		{"email:S", 1, 1}, {"createdAt:S", 1, 1}, {"lineItems:L", 1, 1}, {"address:M", 1, 1},
		{"gift:BOOL", 1, 1}, {"version:N", 1, 1}, {"tags:SS", 0.75, 0.85}, {"notes:S", 0.25, 0.35},
		{"ratings:NS", 0.35, 0.45}, {"attachment:B", 0.07, 0.13}, {"deletedAt:NULL", 0.03, 0.07},
	} {
		got := float64(present[tc.attr]) / float64(o.Items)
		if got < tc.min || got > tc.max {
			t.Errorf("%s in %.3f of items, want [%.2f, %.2f]", tc.attr, got, tc.min, tc.max)
		}
	}
	if float64(amount2dp)/float64(o.Items) < 0.5 {
		t.Errorf("only %d amounts have two decimals", amount2dp)
	}
}

func TestIonDecimal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"103", "103."},
		{"600", "6d2"},
		{"2000", "2d3"},
		{"0", "0."},
		{"-0", "0."},
		{"12.5", "12.5"},
		{"12.50", "12.5"},
		{"100.25", "100.25"},
		{"0.5", "5d-1"},
		{"0.25", "2.5d-1"},
		{"0.000001", "1d-6"},
		{"-42.125", "-42.125"},
		{"-1", "-1."},
		{"1000000", "1d6"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678."},
		{"1704067260123450", "170406726012345d1"},
	} {
		got := string(appendIonDecimal(nil, []byte(tc.in)))
		if got != tc.want {
			t.Errorf("appendIonDecimal(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		// The Ion library must read back the same number.
		r := ion.NewReaderString(got)
		if !r.Next() || r.Type() != ion.DecimalType {
			t.Errorf("%q does not read as an Ion decimal: %v", got, r.Err())
			continue
		}
		d, _ := r.DecimalValue()
		want, _ := new(big.Rat).SetString(tc.in)
		if decimalText(d) != plainRat(want) {
			t.Errorf("%q reads back as %s, want %s", got, decimalText(d), plainRat(want))
		}
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote" backslash\`, "nl\n cr\r tab\t bs\b ff\f", "ctrl \x00\x01\x1f\x7f",
		"é 日本 😀 \u2028\u2029", "</script>&", "'single'",
	} {
		var got string
		js := appendJSONString(nil, []byte(s))
		if err := json.Unmarshal(js, &got); err != nil || got != s {
			t.Errorf("JSON %s -> %q, %v; want %q", js, got, err, s)
		}
		if bytes.ContainsAny(js, "\n\r") {
			t.Errorf("JSON string %q holds a raw line break", js)
		}
		is := appendIonString(nil, []byte(s))
		r := ion.NewReaderBytes(is)
		if !r.Next() {
			t.Errorf("Ion %s: %v", is, r.Err())
			continue
		}
		if v, err := r.StringValue(); err != nil || *v != s {
			t.Errorf("Ion %s -> %v, %v; want %q", is, v, err, s)
		}
		sym := append(appendIonSymbol([]byte("{"), []byte(s)), ":1}"...)
		r = ion.NewReaderBytes(sym)
		if s == "" {
			continue
		}
		if !r.Next() || r.StepIn() != nil || !r.Next() {
			t.Errorf("Ion struct %s: %v", sym, r.Err())
			continue
		}
		if name, err := r.FieldName(); err != nil || name.Text == nil || *name.Text != s {
			t.Errorf("Ion field %s -> %v, %v; want %q", sym, name, err, s)
		}
	}
	for _, tc := range []struct {
		name string
		bare bool
	}{
		{"status", true}, {"_x$1", true}, {"$x", true}, {"a1", true},
		{"1a", false}, {"null", false}, {"true", false}, {"nan", false}, {"$1", false}, {"a b", false},
		{"a.b", false}, {"größe", false}, {"", false},
	} {
		if got := ionIdentifier([]byte(tc.name)); got != tc.bare {
			t.Errorf("ionIdentifier(%q) = %v", tc.name, got)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no-dir", Options{Items: 1}},
		{"format", Options{Dir: t.TempDir(), Format: "CSV"}},
		{"view", Options{Dir: t.TempDir(), View: "OLD_IMAGE"}},
		{"negative", Options{Dir: t.TempDir(), Items: -1}},
		{"window", Options{Dir: t.TempDir(), Window: time.Millisecond}},
		{"dir-is-a-file", Options{Dir: filepath.Join(fileDir(t), "file"), Items: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(context.Background(), tc.o); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// fileDir returns a temporary folder holding a regular file named "file".
func fileDir(t *testing.T) string {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := small(t.TempDir())
	if _, err := Generate(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	err := ReadExpected(ctx, filepath.Join(t.TempDir(), "missing"), func([]byte) error { return nil })
	if err == nil {
		t.Fatal("ReadExpected of a missing file succeeded")
	}
}

// TestCancelMidway cancels runs at different points (data files, expected
// state, incrementals): Generate must return promptly with the context's
// error and leave no goroutine waiting for a chunk that never comes.
func TestCancelMidway(t *testing.T) {
	for _, delay := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			o := small(t.TempDir())
			o.Items, o.Edge = 20000, false
			ctx, cancel := context.WithTimeout(context.Background(), delay)
			defer cancel()
			_, err := Generate(ctx, o)
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the context's error", err)
			}
		})
	}
}

func TestReadExpectedStopsOnError(t *testing.T) {
	o := small(t.TempDir())
	o.Items, o.Incrementals = 100, 0
	res := generate(t, o)
	stop := errors.New("stop")
	n := 0
	err := ReadExpected(context.Background(), res.Full.ExpectedPath, func([]byte) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("err %v after %d lines", err, n)
	}
}

func TestSkipExpected(t *testing.T) {
	o := small(t.TempDir())
	o.Items, o.SkipExpected = 100, true
	res := generate(t, o)
	for _, info := range allExports(res) {
		if info.ExpectedPath != "" {
			t.Errorf("expected path %q", info.ExpectedPath)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Dir, "expected")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("expected folder exists: %v", err)
	}
}

// BenchmarkGenerate1M generates a 1,000,000-item full export and its
// expected state. Run it alone: go test -run x -bench 1M -benchtime 1x.
func BenchmarkGenerate1M(b *testing.B) {
	benchGenerate(b, Options{Items: 1_000_000, Seed: 1})
}

// BenchmarkGenerate4M is the large benchmark's data set: 4,000,000 items and
// two incremental exports of 100,000 changes, with expected states.
func BenchmarkGenerate4M(b *testing.B) {
	benchGenerate(b, Options{Items: 4_000_000, Incrementals: 2, ChangesPerIncremental: 100_000, Seed: 1})
}

func benchGenerate(b *testing.B, o Options) {
	for b.Loop() {
		o.Dir = b.TempDir()
		start := time.Now()
		res, err := Generate(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Full.ItemCount)/time.Since(start).Seconds(), "items/s")
		b.ReportMetric(float64(res.Full.Bytes)/float64(res.Full.ItemCount), "B/item")
		var gz, exp int64
		_ = filepath.WalkDir(o.Dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gz") {
				fi, _ := d.Info()
				if strings.Contains(p, "expected") {
					exp += fi.Size()
				} else {
					gz += fi.Size()
				}
			}
			return err
		})
		b.ReportMetric(float64(gz)/(1<<20), "MiB-exports")
		b.ReportMetric(float64(exp)/(1<<20), "MiB-expected")
	}
}
