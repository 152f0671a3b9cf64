package export

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The committed fixtures under testdata/ are produced by this generator:
//
//	go test ./internal/export/ -run TestGenerateFixtures -update
//
// They are committed (not generated on the fly) so that other packages'
// tests can read them as plain export folders.
var update = flag.Bool("update", false, "regenerate the fixture exports under testdata/")

// Original location recorded in the fixtures' manifests. The fixtures live
// elsewhere, which is exactly what key resolution must cope with.
const (
	fixtureBucket   = "my-bucket"
	fixturePrefix   = "exports"
	fixtureTableArn = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"
)

type fixtureData struct {
	name  string   // file name under data/, e.g. "abc.json.gz"
	lines []string // empty means an empty partition (a 20-byte gzip file)
}

type fixtureExport struct {
	id          string
	incremental bool
	view        string
	format      string // defaults to DYNAMODB_JSON
	noTypeField bool   // full export written without exportType, like older exports
	tableArn    string // defaults to fixtureTableArn
	exportTime  time.Time
	from, to    time.Time
	files       []fixtureData

	// Damage, applied after the manifests are computed.
	started          bool     // write _started (real exports always do)
	checksumExt      string   // ".md5" (default) or ".checksum"
	omit             []string // files of the export folder not to write
	summaryCountSkew int64    // added to the summary's itemCount
	badSummaryMD5    bool
	badFilesMD5      bool
	corruptData      string // data file whose bytes are altered after hashing
	truncateData     string // data file cut short after hashing
	omitData         string // data file listed in the manifest but not written
	manifestKeyOf    func(f fixtureData) string
	extraFilesLines  []string // appended to manifest-files.json before hashing
}

// writeExport writes e into awsDir (a folder named AWSDynamoDB) through put.
func writeExport(t testing.TB, put func(key string, data []byte), awsDir string, e fixtureExport) {
	t.Helper()
	format := e.format
	if format == "" {
		format = FormatDynamoDBJSON
	}
	ext := ".md5"
	if e.checksumExt != "" {
		ext = e.checksumExt
	}
	omitted := func(name string) bool {
		for _, o := range e.omit {
			if o == name {
				return true
			}
		}
		return false
	}
	exportDir := awsDir + "/" + e.id
	origAWS := fixturePrefix + "/" + AWSDir + "/"

	var manifest bytes.Buffer
	var total, billed int64
	for _, f := range e.files {
		data := gzipLines(t, f.lines)
		sum := md5.Sum(data)
		dataKey := e.id + "/data/" + f.name
		if e.incremental {
			dataKey = "data/" + f.name
		}
		manifestKey := origAWS + dataKey
		if e.manifestKeyOf != nil {
			manifestKey = e.manifestKeyOf(f)
		}
		line, err := json.Marshal(struct {
			ItemCount     int    `json:"itemCount"`
			MD5Checksum   string `json:"md5Checksum"`
			ETag          string `json:"etag"`
			DataFileS3Key string `json:"dataFileS3Key"`
		}{len(f.lines), base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:]), manifestKey})
		if err != nil {
			t.Fatal(err)
		}
		manifest.Write(line)
		manifest.WriteByte('\n')
		total += int64(len(f.lines))
		billed += int64(len(data))

		switch f.name {
		case e.corruptData:
			data = append([]byte(nil), data...)
			data[len(data)/2] ^= 0xff
		case e.truncateData:
			data = data[:len(data)-5]
		}
		if f.name != e.omitData {
			put(awsDir+"/"+dataKey, data)
		}
	}
	for _, l := range e.extraFilesLines {
		manifest.WriteString(l + "\n")
	}

	// Field order follows real manifests, which makes the files easy to
	// compare with one by eye.
	type summaryJSON struct {
		Version            string  `json:"version"`
		ExportArn          string  `json:"exportArn"`
		StartTime          string  `json:"startTime"`
		EndTime            string  `json:"endTime"`
		TableArn           string  `json:"tableArn"`
		TableID            string  `json:"tableId"`
		ExportTime         string  `json:"exportTime,omitempty"`
		ExportFromTime     string  `json:"exportFromTime,omitempty"`
		ExportToTime       string  `json:"exportToTime,omitempty"`
		S3Bucket           string  `json:"s3Bucket"`
		S3Prefix           string  `json:"s3Prefix"`
		S3SseAlgorithm     string  `json:"s3SseAlgorithm"`
		S3SseKmsKeyID      *string `json:"s3SseKmsKeyId"`
		ManifestFilesS3Key string  `json:"manifestFilesS3Key"`
		BilledSizeBytes    int64   `json:"billedSizeBytes"`
		ItemCount          int64   `json:"itemCount"`
		OutputFormat       string  `json:"outputFormat"`
		OutputView         string  `json:"outputView,omitempty"`
		ExportType         string  `json:"exportType,omitempty"`
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	start := e.exportTime
	table := cmp.Or(e.tableArn, fixtureTableArn)
	s := summaryJSON{
		Version:            "2020-06-30",
		ExportArn:          table + "/export/" + e.id,
		TableArn:           table,
		TableID:            "5a1c2b3d-4e5f-6789-abcd-ef0123456789",
		S3Bucket:           fixtureBucket,
		S3Prefix:           fixturePrefix,
		S3SseAlgorithm:     "AES256",
		ManifestFilesS3Key: origAWS + e.id + "/" + FilesFile,
		BilledSizeBytes:    billed,
		ItemCount:          total + e.summaryCountSkew,
		OutputFormat:       format,
	}
	if e.incremental {
		s.Version = "2023-08-01"
		s.ExportFromTime, s.ExportToTime = ts(e.from), ts(e.to)
		s.OutputView = e.view
		s.ExportType = TypeIncremental
		start = e.to.Add(10 * time.Minute)
	} else {
		s.ExportTime = ts(e.exportTime)
		if !e.noTypeField {
			s.ExportType = TypeFull
		}
	}
	s.StartTime, s.EndTime = ts(start), ts(start.Add(5*time.Minute+123*time.Millisecond))
	summary, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}

	write := func(name string, data []byte) {
		if !omitted(name) {
			put(exportDir+"/"+name, data)
		}
	}
	if e.started {
		write(StartedFile, nil)
	}
	summaryMD5 := b64md5(summary)
	if e.badSummaryMD5 {
		summaryMD5 = b64md5([]byte("something else"))
	}
	filesMD5 := b64md5(manifest.Bytes())
	if e.badFilesMD5 {
		filesMD5 = b64md5([]byte("something else"))
	}
	write(SummaryFile, summary)
	write("manifest-summary"+ext, []byte(summaryMD5))
	write(FilesFile, manifest.Bytes())
	write("manifest-files"+ext, []byte(filesMD5))
}

func b64md5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// emptyPartition is the exact 20-byte file DynamoDB writes for a partition
// without items: a 10-byte gzip header, an empty final deflate block and a
// zero CRC and length. Go's gzip writer would emit 23 bytes instead.
var emptyPartition = []byte{
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
}

// gzipLines compresses lines the way DynamoDB does: one gzip member, each
// line newline-terminated. No lines gives the 20-byte empty partition.
func gzipLines(t testing.TB, lines []string) []byte {
	t.Helper()
	if len(lines) == 0 {
		return append([]byte(nil), emptyPartition...)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dirPut(t testing.TB, root string) func(key string, data []byte) {
	return func(key string, data []byte) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Fixture export IDs: creation time in milliseconds, a dash, 8 hex digits.
const (
	idFull    = "01704067500000-a1b2c3d4"
	idInc1    = "01704071100000-e5f6a7b8"
	idInc2    = "01704074700000-c9d0e1f2"
	idRunning = "01704078300000-0a0b0c0d"
	idION     = "01704067600000-1e2d3c4b"
)

var (
	fullItems = []string{
		`{"Item":{"pk":{"S":"user#1"},"sk":{"S":"profile"},"name":{"S":"Ada"},"age":{"N":"36"}}}`,
		`{"Item":{"pk":{"S":"user#2"},"sk":{"S":"profile"},"name":{"S":"Grace"},"tags":{"SS":["cobol","navy"]}}}`,
		`{"Item":{"pk":{"S":"user#3"},"sk":{"S":"profile"},"active":{"BOOL":true},"avatar":{"B":"AAEC"},"nick":{"NULL":true}}}`,
	}
	inc1Records = []string{
		// insert, update, delete with NEW_AND_OLD_IMAGES
		`{"Metadata":{"WriteTimestampMicros":{"N":"1704067800000000"}},"Keys":{"pk":{"S":"user#4"},"sk":{"S":"profile"}},"NewImage":{"pk":{"S":"user#4"},"sk":{"S":"profile"},"name":{"S":"Linus"}}}`,
		`{"Metadata":{"WriteTimestampMicros":{"N":"1704068400000000"}},"Keys":{"pk":{"S":"user#1"},"sk":{"S":"profile"}},"OldImage":{"pk":{"S":"user#1"},"sk":{"S":"profile"},"name":{"S":"Ada"},"age":{"N":"36"}},"NewImage":{"pk":{"S":"user#1"},"sk":{"S":"profile"},"name":{"S":"Ada"},"age":{"N":"37"}}}`,
		`{"Metadata":{"WriteTimestampMicros":{"N":"1704069000000000"}},"Keys":{"pk":{"S":"user#2"},"sk":{"S":"profile"}},"OldImage":{"pk":{"S":"user#2"},"sk":{"S":"profile"},"name":{"S":"Grace"},"tags":{"SS":["cobol","navy"]}}}`,
	}
	inc2Records = []string{
		// update and delete with NEW_IMAGE: a delete carries Keys only
		`{"Metadata":{"WriteTimestampMicros":{"N":"1704071000000000"}},"Keys":{"pk":{"S":"user#4"},"sk":{"S":"profile"}},"NewImage":{"pk":{"S":"user#4"},"sk":{"S":"profile"},"name":{"S":"Linus"},"langs":{"L":[{"S":"c"},{"N":"89"}]}}}`,
		`{"Metadata":{"WriteTimestampMicros":{"N":"1704072000000000"}},"Keys":{"pk":{"S":"user#3"},"sk":{"S":"profile"}}}`,
	}
	ionItems = []string{
		`$ion_1_0 {Item:{pk:"user#1",sk:"profile",name:"Ada",age:36.}}`,
		`$ion_1_0 {Item:{pk:"user#2",sk:"profile",tags:$dynamodb_SS::["cobol","navy"]}}`,
	}
)

// Fixture sets. Every case is its own tree (testdata/<case>/AWSDynamoDB/…)
// so Discover tests can point at any of them.
func fixtureSets() map[string][]fixtureExport {
	full := func() fixtureExport {
		return fixtureExport{
			id: idFull, started: true, noTypeField: true,
			exportTime: mustTime("2024-01-01T00:05:00Z"),
			files: []fixtureData{
				{name: "qmz3kd7hv4alrbx2y5ojtnwefu.json.gz", lines: fullItems},
				{name: "x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz"}, // empty partition
			},
		}
	}
	inc1 := fixtureExport{
		id: idInc1, started: true, incremental: true, view: ViewNewAndOldImages,
		from: mustTime("2024-01-01T00:05:00Z"), to: mustTime("2024-01-01T01:05:00Z"),
		checksumExt: ".checksum",
		files:       []fixtureData{{name: "b4n7tqs2lkw9xzr3mv5ceduh8a.json.gz", lines: inc1Records}},
	}
	inc2 := fixtureExport{
		id: idInc2, started: true, incremental: true, view: ViewNewImage,
		from: mustTime("2024-01-01T01:05:00Z"), to: mustTime("2024-01-01T02:05:00Z"),
		files: []fixtureData{
			{name: "h2w6pyd8nq4fkzt1ls7mva3rcj.json.gz", lines: inc2Records},
			{name: "r9e5gk2ubm7xtq4zwc8nfy1dsh.json.gz"},
		},
	}
	running := fixtureExport{id: idRunning, started: true, omit: []string{SummaryFile, "manifest-summary.md5", FilesFile, "manifest-files.md5"}}
	ion := fixtureExport{
		id: idION, started: true, format: FormatION,
		exportTime: mustTime("2024-01-01T00:06:00Z"),
		files:      []fixtureData{{name: "t3k8zq1mwp6dvr2nyc9lsfx4be.ion.gz", lines: ionItems}},
	}
	broken := func(f func(*fixtureExport)) []fixtureExport {
		e := full()
		f(&e)
		return []fixtureExport{e}
	}
	return map[string][]fixtureExport{
		// Listed in the wrong order on purpose; Discover must sort.
		"exports":                {inc2, running, full(), inc1},
		"ion":                    {ion},
		"missing-files-manifest": broken(func(e *fixtureExport) { e.omit = []string{FilesFile} }),
		"missing-checksum":       broken(func(e *fixtureExport) { e.omit = []string{"manifest-files.md5"} }),
		"summary-md5-mismatch":   broken(func(e *fixtureExport) { e.badSummaryMD5 = true }),
		"files-md5-mismatch":     broken(func(e *fixtureExport) { e.badFilesMD5 = true }),
		"count-mismatch":         broken(func(e *fixtureExport) { e.summaryCountSkew = 1 }),
		"corrupt-data":           broken(func(e *fixtureExport) { e.corruptData = e.files[0].name }),
		"truncated-data":         broken(func(e *fixtureExport) { e.truncateData = e.files[0].name }),
		"missing-data":           broken(func(e *fixtureExport) { e.omitData = e.files[1].name }),
		"foreign-data-key": broken(func(e *fixtureExport) {
			e.manifestKeyOf = func(f fixtureData) string {
				return fixturePrefix + "/" + AWSDir + "/01600000000000-ffffffff/data/" + f.name
			}
		}),
		"escaping-data-key": broken(func(e *fixtureExport) {
			first := e.files[0].name
			e.manifestKeyOf = func(f fixtureData) string {
				if f.name == first {
					return fixturePrefix + "/" + AWSDir + "/" + idFull + "/data/../../../../secret.json.gz"
				}
				return fixturePrefix + "/" + AWSDir + "/" + idFull + "/data/" + f.name
			}
		}),
	}
}

func writeFixtureSet(t testing.TB, put func(key string, data []byte), root string, exports []fixtureExport) {
	t.Helper()
	for _, e := range exports {
		writeExport(t, put, root+"/"+AWSDir, e)
	}
}

func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/")
	}
	if err := os.RemoveAll("testdata"); err != nil {
		t.Fatal(err)
	}
	for name, exports := range fixtureSets() {
		writeFixtureSet(t, dirPut(t, "testdata"), name, exports)
	}
	readme := strings.TrimSpace(`
Fixture DynamoDB exports, generated by TestGenerateFixtures in
fixtures_test.go (go test ./internal/export/ -run TestGenerateFixtures -update).
Do not edit by hand: the manifests carry MD5s of the other files.

Layout follows real exports: <case>/AWSDynamoDB/<exportId>/{_started,
manifest-summary.json, manifest-summary.md5, manifest-files.json,
manifest-files.md5, data/*.json.gz}; incremental exports keep their data in
the shared <case>/AWSDynamoDB/data/. Manifests record the original location
s3://my-bucket/exports/AWSDynamoDB/..., as a copied export would.

exports/   a full export (2 data files, one an empty 20-byte partition),
           two incremental exports (NEW_AND_OLD_IMAGES with .checksum files,
           NEW_IMAGE), and one still running (_started only)
ion/       a full export in ION format
others     one damaged full export each, named after the damage
`)
	if err := os.WriteFile(filepath.Join("testdata", "README"), []byte(readme+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
