package export

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// summaryJSON renders a summary from the documented example with fields
// replaced or (for nil values) removed.
func summaryJSON(t testing.TB, incremental bool, edits map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"version":            "2020-06-30",
		"exportArn":          "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/export/01700000000000-abcdef12",
		"startTime":          "2024-01-01T00:00:00.000Z",
		"endTime":            "2024-01-01T00:05:00.000Z",
		"tableArn":           "arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
		"tableId":            "...",
		"exportTime":         "2024-01-01T00:00:00.000Z",
		"s3Bucket":           "my-bucket",
		"s3Prefix":           "exports",
		"s3SseAlgorithm":     "AES256",
		"s3SseKmsKeyId":      nil,
		"manifestFilesS3Key": "exports/AWSDynamoDB/01700000000000-abcdef12/manifest-files.json",
		"billedSizeBytes":    123,
		"itemCount":          1000,
		"outputFormat":       "DYNAMODB_JSON",
	}
	if incremental {
		delete(m, "exportTime")
		m["version"] = "2023-08-01"
		m["exportType"] = "INCREMENTAL_EXPORT"
		m["exportFromTime"] = "2024-01-01T00:00:00.000Z"
		m["exportToTime"] = "2024-01-01T01:00:00.000Z"
		m["outputView"] = "NEW_AND_OLD_IMAGES"
	}
	maps.Copy(m, edits)
	for k, v := range edits {
		if v == nil && k != "s3SseKmsKeyId" {
			delete(m, k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSummary(t *testing.T) {
	tests := []struct {
		name        string
		incremental bool
		edits       map[string]any
		wantErr     string
		check       func(t *testing.T, s Summary)
	}{
		{name: "documented full example", check: func(t *testing.T, s Summary) {
			if s.ExportType != TypeFull || s.ItemCount != 1000 || s.BilledSizeBytes != 123 || s.OutputFormat != FormatDynamoDBJSON ||
				!s.ExportTime.Equal(mustTime("2024-01-01T00:00:00Z")) || !s.EndTime.Equal(mustTime("2024-01-01T00:05:00Z")) ||
				s.TableName() != "Orders" || s.S3SseKmsKeyID != "" || s.S3Bucket != "my-bucket" || s.Version != "2020-06-30" {
				t.Errorf("summary = %+v", s)
			}
		}},
		{name: "explicit FULL_EXPORT", edits: map[string]any{"exportType": "FULL_EXPORT"}},
		{name: "ION", edits: map[string]any{"outputFormat": "ION"}},
		{name: "milliseconds kept", edits: map[string]any{"exportTime": "2024-01-01T00:00:00.123Z"}, check: func(t *testing.T, s Summary) {
			if s.ExportTime.Nanosecond() != 123e6 {
				t.Errorf("ExportTime = %v", s.ExportTime)
			}
		}},
		{name: "incremental", incremental: true, check: func(t *testing.T, s Summary) {
			if s.ExportType != TypeIncremental || s.OutputView != ViewNewAndOldImages || !s.ExportTime.IsZero() ||
				s.ExportToTime.Sub(s.ExportFromTime) != time.Hour {
				t.Errorf("summary = %+v", s)
			}
		}},
		{name: "incremental NEW_IMAGE", incremental: true, edits: map[string]any{"outputView": "NEW_IMAGE"}},
		{name: "unknown fields ignored", edits: map[string]any{"someFutureField": map[string]any{"x": 1}}},
		{name: "not JSON", edits: nil, wantErr: "not valid JSON"},
		{name: "no itemCount", edits: map[string]any{"itemCount": nil}, wantErr: "itemCount is missing"},
		{name: "negative itemCount", edits: map[string]any{"itemCount": -1}, wantErr: "negative"},
		{name: "fractional itemCount", edits: map[string]any{"itemCount": 1.5}, wantErr: "not valid JSON"},
		{name: "no exportTime", edits: map[string]any{"exportTime": nil}, wantErr: "exportTime is missing"},
		{name: "bad time", edits: map[string]any{"exportTime": "yesterday"}, wantErr: `exportTime "yesterday" is not an RFC 3339 time`},
		{name: "no outputFormat", edits: map[string]any{"outputFormat": nil}, wantErr: "outputFormat is missing"},
		{name: "CSV", edits: map[string]any{"outputFormat": "CSV"}, wantErr: `outputFormat "CSV" is not supported`},
		{name: "unknown type", edits: map[string]any{"exportType": "PARTIAL"}, wantErr: `exportType "PARTIAL" is not supported`},
		{name: "incremental without to", incremental: true, edits: map[string]any{"exportToTime": nil}, wantErr: "exportToTime is missing"},
		{name: "incremental inverted", incremental: true, edits: map[string]any{"exportToTime": "2023-12-31T00:00:00.000Z"}, wantErr: "is not before exportToTime"},
		{name: "incremental empty window", incremental: true, edits: map[string]any{"exportToTime": "2024-01-01T00:00:00.000Z"}, wantErr: "is not before exportToTime"},
		{name: "incremental without view", incremental: true, edits: map[string]any{"outputView": nil}, wantErr: "outputView is missing"},
		{name: "incremental odd view", incremental: true, edits: map[string]any{"outputView": "KEYS_ONLY"}, wantErr: `outputView "KEYS_ONLY" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := summaryJSON(t, tt.incremental, tt.edits)
			if tt.name == "not JSON" {
				data = data[:len(data)-1]
			}
			s, err := ParseSummary(data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSummary error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSummary: %v", err)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestParseManifestFiles(t *testing.T) {
	const (
		md5a = "sQMSpEILNgoQmarvDFonGQ=="
		md5b = "6EMC42vsz5nB/GR3JzfqVg=="
	)
	line := func(items int, md5, key string) string {
		b, _ := json.Marshal(map[string]any{"itemCount": items, "md5Checksum": md5, "etag": "af83d6f217c19b8b0fff8023d8ca4716-1", "dataFileS3Key": key})
		return string(b)
	}
	tests := []struct {
		name      string
		data      string
		wantFiles int
		wantErr   string
	}{
		{name: "documented line", data: `{"itemCount":8,"md5Checksum":"sQMSpEILNgoQmarvDFonGQ==","etag":"af83d6f217c19b8b0fff8023d8ca4716-1","dataFileS3Key":"AWSDynamoDB/01693685827463-2d8752fa/data/asdl123dasas.json.gz"}` + "\n", wantFiles: 1},
		{name: "two lines no final newline", data: line(1, md5a, "p/AWSDynamoDB/x/data/a.json.gz") + "\n" + line(0, md5b, "p/AWSDynamoDB/x/data/b.json.gz"), wantFiles: 2},
		{name: "CRLF and blank lines", data: "\r\n" + line(1, md5a, "k1") + "\r\n\r\n" + line(2, md5b, "k2") + "\r\n", wantFiles: 2},
		{name: "empty", data: "", wantFiles: 0},
		{name: "garbage", data: line(1, md5a, "k1") + "\n{not json\n", wantErr: "line 2: not a JSON object"},
		{name: "two objects on a line", data: line(1, md5a, "k1") + line(1, md5b, "k2") + "\n", wantErr: "line 1: not a JSON object"},
		{name: "no key", data: line(1, md5a, "") + "\n", wantErr: "line 1: dataFileS3Key is missing"},
		{name: "no count", data: `{"md5Checksum":"` + md5a + `","dataFileS3Key":"k"}`, wantErr: "itemCount is missing"},
		{name: "negative count", data: line(-3, md5a, "k") + "\n", wantErr: "itemCount -3 is negative"},
		{name: "no md5", data: line(1, "", "k") + "\n", wantErr: "md5Checksum \"\": missing"},
		{name: "hex md5", data: line(1, "b1031264420b360a1099aaef0c5a2719", "k") + "\n", wantErr: "not a base64-encoded MD5 digest"},
		{name: "short md5", data: line(1, "AAAA", "k") + "\n", wantErr: "not a base64-encoded MD5 digest"},
		{name: "duplicate", data: line(1, md5a, "k") + "\n" + line(1, md5b, "k") + "\n", wantErr: "line 2: data file \"k\" is already listed on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := ParseManifestFiles([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tt.wantFiles {
				t.Fatalf("got %d files, want %d", len(files), tt.wantFiles)
			}
			for _, f := range files {
				if f.ManifestKey == "" || f.MD5 == "" || f.Key != "" {
					t.Errorf("file = %+v", f)
				}
			}
		})
	}
}

func addFixtureSeeds(f *testing.F, name string) {
	matches, err := filepath.Glob(filepath.Join("testdata", "*", AWSDir, "*", name))
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseSummary(f *testing.F) {
	addFixtureSeeds(f, SummaryFile)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"itemCount":1,"outputFormat":"ION","exportType":"INCREMENTAL_EXPORT","exportFromTime":"2024-01-01T00:00:00Z","exportToTime":"2024-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSummary(data)
		if err != nil {
			return
		}
		// What Load and Discover rely on after a successful parse.
		if s.ItemCount < 0 {
			t.Errorf("negative itemCount accepted: %d", s.ItemCount)
		}
		if s.OutputFormat != FormatDynamoDBJSON && s.OutputFormat != FormatION {
			t.Errorf("format %q accepted", s.OutputFormat)
		}
		switch s.ExportType {
		case TypeFull:
			if s.ExportTime.IsZero() {
				t.Error("full export without exportTime accepted")
			}
		case TypeIncremental:
			if !s.ExportFromTime.Before(s.ExportToTime) {
				t.Error("incremental export with an empty or inverted window accepted")
			}
			if s.OutputView != ViewNewAndOldImages && s.OutputView != ViewNewImage {
				t.Errorf("view %q accepted", s.OutputView)
			}
		default:
			t.Errorf("type %q accepted", s.ExportType)
		}
	})
}

func FuzzParseManifestFiles(f *testing.F) {
	addFixtureSeeds(f, FilesFile)
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"itemCount":8,"md5Checksum":"sQMSpEILNgoQmarvDFonGQ==","dataFileS3Key":"AWSDynamoDB/x/data/a.json.gz"}` + "\r\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := ParseManifestFiles(data)
		if err != nil {
			return
		}
		seen := make(map[string]bool)
		for _, file := range files {
			if file.ManifestKey == "" || file.ItemCount < 0 || seen[file.ManifestKey] {
				t.Errorf("accepted %+v", file)
			}
			if _, err := decodeMD5(file.MD5); err != nil {
				t.Errorf("accepted md5 %q: %v", file.MD5, err)
			}
			seen[file.ManifestKey] = true
		}
		// Key resolution must not panic on whatever a manifest holds.
		relToAWSDir(string(data))
	})
}
