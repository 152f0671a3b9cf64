package export

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Export types, as written in manifest-summary.json's exportType.
const (
	TypeFull        = "FULL_EXPORT"
	TypeIncremental = "INCREMENTAL_EXPORT"
)

// Output formats, as written in manifest-summary.json's outputFormat.
const (
	FormatDynamoDBJSON = "DYNAMODB_JSON"
	FormatION          = "ION"
)

// Output views of incremental exports, as written in outputView. They decide
// whether a record carries the old image of the item.
const (
	ViewNewAndOldImages = "NEW_AND_OLD_IMAGES"
	ViewNewImage        = "NEW_IMAGE"
)

// Summary is the parsed manifest-summary.json of one export.
type Summary struct {
	// Version is the manifest format version ("2020-06-30" for full
	// exports, "2023-08-01" for incremental ones).
	Version string
	// ExportArn identifies the export; it ends in "/export/<exportId>".
	ExportArn string
	// TableArn identifies the exported table, and so the Iceberg table the
	// export belongs to.
	TableArn string
	// TableID is DynamoDB's internal table ID. It changes when a table is
	// deleted and recreated under the same name, which TableArn does not.
	TableID string
	// ExportType is TypeFull or TypeIncremental. Full exports made before
	// incremental exports existed carry no exportType; they get TypeFull.
	ExportType string
	// OutputFormat is FormatDynamoDBJSON or FormatION.
	OutputFormat string
	// OutputView is set for incremental exports only.
	OutputView string

	// StartTime and EndTime bound the export job itself, not the data.
	StartTime time.Time
	EndTime   time.Time
	// ExportTime is the point in time a full export shows the table at.
	ExportTime time.Time
	// ExportFromTime (inclusive) and ExportToTime (exclusive) bound the
	// changes an incremental export holds.
	ExportFromTime time.Time
	ExportToTime   time.Time

	// S3Bucket and S3Prefix are where DynamoDB wrote the export. The export
	// may since have been copied; keys are resolved relative to where it
	// was found, never to these.
	S3Bucket string
	S3Prefix string
	// S3SseAlgorithm ("AES256" or "KMS") and S3SseKmsKeyID describe the
	// server-side encryption the files were written with.
	S3SseAlgorithm string
	S3SseKmsKeyID  string
	// ManifestFilesS3Key is the original key of manifest-files.json.
	ManifestFilesS3Key string
	// BilledSizeBytes is the amount of table data DynamoDB billed for.
	BilledSizeBytes int64
	// ItemCount is the number of items (full) or change records
	// (incremental) in the export.
	ItemCount int64
}

// TableName returns the table's name from its ARN, for messages and
// defaults; "" if the ARN is not a table ARN.
func (s Summary) TableName() string {
	_, name, ok := strings.Cut(s.TableArn, ":table/")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "/")
	return name
}

type rawSummary struct {
	Version            string  `json:"version"`
	ExportArn          string  `json:"exportArn"`
	StartTime          *string `json:"startTime"`
	EndTime            *string `json:"endTime"`
	TableArn           string  `json:"tableArn"`
	TableID            string  `json:"tableId"`
	ExportTime         *string `json:"exportTime"`
	ExportFromTime     *string `json:"exportFromTime"`
	ExportToTime       *string `json:"exportToTime"`
	S3Bucket           string  `json:"s3Bucket"`
	S3Prefix           *string `json:"s3Prefix"`
	S3SseAlgorithm     *string `json:"s3SseAlgorithm"`
	S3SseKmsKeyID      *string `json:"s3SseKmsKeyId"`
	ManifestFilesS3Key string  `json:"manifestFilesS3Key"`
	BilledSizeBytes    *int64  `json:"billedSizeBytes"`
	ItemCount          *int64  `json:"itemCount"`
	OutputFormat       string  `json:"outputFormat"`
	OutputView         *string `json:"outputView"`
	ExportType         *string `json:"exportType"`
}

// ParseSummary parses and checks a manifest-summary.json. It rejects what
// floe could not apply correctly (unknown types, formats or views, missing
// or inverted time bounds) instead of guessing.
func ParseSummary(data []byte) (Summary, error) {
	var raw rawSummary
	if err := json.Unmarshal(data, &raw); err != nil {
		return Summary{}, fmt.Errorf("not valid JSON: %w", err)
	}
	s := Summary{
		Version:            raw.Version,
		ExportArn:          raw.ExportArn,
		TableArn:           raw.TableArn,
		TableID:            raw.TableID,
		ExportType:         deref(raw.ExportType),
		OutputFormat:       raw.OutputFormat,
		OutputView:         deref(raw.OutputView),
		S3Bucket:           raw.S3Bucket,
		S3Prefix:           deref(raw.S3Prefix),
		S3SseAlgorithm:     deref(raw.S3SseAlgorithm),
		S3SseKmsKeyID:      deref(raw.S3SseKmsKeyID),
		ManifestFilesS3Key: raw.ManifestFilesS3Key,
	}
	if raw.BilledSizeBytes != nil {
		s.BilledSizeBytes = *raw.BilledSizeBytes
	}
	if raw.ItemCount == nil {
		return Summary{}, errors.New("itemCount is missing")
	}
	s.ItemCount = *raw.ItemCount
	if s.ItemCount < 0 {
		return Summary{}, fmt.Errorf("itemCount %d is negative", s.ItemCount)
	}

	var err error
	times := []struct {
		name string
		raw  *string
		dst  *time.Time
	}{
		{"startTime", raw.StartTime, &s.StartTime},
		{"endTime", raw.EndTime, &s.EndTime},
		{"exportTime", raw.ExportTime, &s.ExportTime},
		{"exportFromTime", raw.ExportFromTime, &s.ExportFromTime},
		{"exportToTime", raw.ExportToTime, &s.ExportToTime},
	}
	for _, tm := range times {
		if tm.raw == nil || *tm.raw == "" {
			continue
		}
		if *tm.dst, err = time.Parse(time.RFC3339Nano, *tm.raw); err != nil {
			return Summary{}, fmt.Errorf("%s %q is not an RFC 3339 time", tm.name, *tm.raw)
		}
	}

	switch s.OutputFormat {
	case FormatDynamoDBJSON, FormatION:
	case "":
		return Summary{}, errors.New("outputFormat is missing")
	default:
		return Summary{}, fmt.Errorf("outputFormat %q is not supported (want %s or %s)", s.OutputFormat, FormatDynamoDBJSON, FormatION)
	}

	switch s.ExportType {
	case "", TypeFull:
		s.ExportType = TypeFull
		if s.ExportTime.IsZero() {
			return Summary{}, errors.New("exportTime is missing from a full export")
		}
	case TypeIncremental:
		if s.ExportFromTime.IsZero() || s.ExportToTime.IsZero() {
			return Summary{}, errors.New("exportFromTime or exportToTime is missing from an incremental export")
		}
		if !s.ExportFromTime.Before(s.ExportToTime) {
			return Summary{}, fmt.Errorf("exportFromTime %s is not before exportToTime %s", fmtTime(s.ExportFromTime), fmtTime(s.ExportToTime))
		}
		switch s.OutputView {
		case ViewNewAndOldImages, ViewNewImage:
		case "":
			return Summary{}, errors.New("outputView is missing from an incremental export")
		default:
			return Summary{}, fmt.Errorf("outputView %q is not supported (want %s or %s)", s.OutputView, ViewNewAndOldImages, ViewNewImage)
		}
	default:
		return Summary{}, fmt.Errorf("exportType %q is not supported (want %s or %s)", s.ExportType, TypeFull, TypeIncremental)
	}
	return s, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type rawDataFile struct {
	ItemCount     *int64 `json:"itemCount"`
	MD5Checksum   string `json:"md5Checksum"`
	ETag          string `json:"etag"`
	DataFileS3Key string `json:"dataFileS3Key"`
}

// ParseManifestFiles parses a manifest-files.json (JSON lines, one object
// per data file). The returned files have ManifestKey, ItemCount, MD5 and
// ETag set; Key is left for the caller to resolve against the store.
func ParseManifestFiles(data []byte) ([]DataFile, error) {
	var files []DataFile
	seen := make(map[string]int)
	for i, line := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var raw rawDataFile
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %w", lineNo, err)
		}
		if raw.DataFileS3Key == "" {
			return nil, fmt.Errorf("line %d: dataFileS3Key is missing", lineNo)
		}
		if raw.ItemCount == nil {
			return nil, fmt.Errorf("line %d: itemCount is missing", lineNo)
		}
		if *raw.ItemCount < 0 {
			return nil, fmt.Errorf("line %d: itemCount %d is negative", lineNo, *raw.ItemCount)
		}
		if _, err := decodeMD5(raw.MD5Checksum); err != nil {
			return nil, fmt.Errorf("line %d: md5Checksum %q: %w", lineNo, raw.MD5Checksum, err)
		}
		if prev, dup := seen[raw.DataFileS3Key]; dup {
			return nil, fmt.Errorf("line %d: data file %q is already listed on line %d", lineNo, raw.DataFileS3Key, prev)
		}
		seen[raw.DataFileS3Key] = lineNo
		files = append(files, DataFile{
			ManifestKey: raw.DataFileS3Key,
			ItemCount:   *raw.ItemCount,
			MD5:         raw.MD5Checksum,
			ETag:        raw.ETag,
		})
	}
	return files, nil
}

// decodeMD5 accepts the base64 form DynamoDB writes.
func decodeMD5(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != md5.Size {
		return nil, errors.New("not a base64-encoded MD5 digest")
	}
	return b, nil
}

// checksumMatches compares a *.md5 file's content with data. DynamoDB
// writes base64 without a newline; a hex digest (what md5sum prints) and
// surrounding whitespace are accepted too, since people recreate these files
// by hand after copying exports around.
func checksumMatches(want string, data []byte) (ok bool, got string) {
	sum := md5.Sum(data)
	got = base64.StdEncoding.EncodeToString(sum[:])
	want = strings.TrimSpace(want)
	if want == got {
		return true, got
	}
	if fields := strings.Fields(want); len(fields) > 0 && len(fields[0]) == hex.EncodedLen(md5.Size) {
		if strings.EqualFold(fields[0], hex.EncodeToString(sum[:])) {
			return true, got
		}
	}
	return false, got
}
