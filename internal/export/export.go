// Package export reads DynamoDB export folders (full and incremental)
// through an objstore.Store: it finds exports, verifies their manifests and
// streams their data files with checksum verification.
//
// Everything is resolved relative to the folder an export is found in, not
// to the bucket and prefix recorded in its manifests, so exports copied to
// another bucket, prefix or a local disk read the same.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/floe-io/floe/internal/objstore"
)

// Names of the files DynamoDB writes into an export folder.
const (
	SummaryFile = "manifest-summary.json"
	FilesFile   = "manifest-files.json"
	StartedFile = "_started"
	// AWSDir is the folder DynamoDB creates under the export prefix; it
	// holds one folder per export and, for incremental exports, the shared
	// data/ folder.
	AWSDir = "AWSDynamoDB"
	// DataDir is the name of the folders data files live in.
	DataDir = "data"
)

// Manifests are small; the caps only stop a wrong --export path from
// reading a huge object into memory.
const (
	maxSummaryBytes = 1 << 20
	maxFilesBytes   = 512 << 20
	maxMD5Bytes     = 4 << 10
)

var (
	// ErrIncomplete is wrapped by errors for a folder without a
	// manifest-summary.json: an export still running, one that failed, or
	// not an export at all. Discover skips such folders with a warning.
	ErrIncomplete = errors.New("export incomplete")
	// ErrChecksum is wrapped by every MD5 mismatch, of manifests or data.
	// Retrying cannot fix it; the bytes themselves are wrong.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNoExports is returned by Discover when a location holds no export
	// folders at all, so pollers can tell "nothing yet" from failure.
	ErrNoExports = errors.New("no exports found")
)

// Export is one verified DynamoDB export.
type Export struct {
	// ID is the export folder's name, e.g. "01700000000000-abcdef12". Its
	// leading digits are the export's creation time in milliseconds.
	ID string
	// Dir is the store key of the export folder, without a trailing slash.
	Dir string
	// Location is Dir as a user-facing path or URI, for messages.
	Location string
	// Summary is the export's parsed manifest-summary.json.
	Summary Summary
	// Files lists the export's data files in manifest order.
	Files []DataFile
}

// Incremental reports whether e holds changes (an incremental export)
// rather than a snapshot of the whole table.
func (e *Export) Incremental() bool { return e.Summary.ExportType == TypeIncremental }

// DataFile is one data file of an export.
type DataFile struct {
	// Key is the file's key in the store the export was loaded from.
	Key string
	// ManifestKey is dataFileS3Key as written in manifest-files.json
	// (bucket-relative, including the original prefix).
	ManifestKey string
	// ItemCount is the number of lines the file holds.
	ItemCount int64
	// MD5 is the base64 MD5 of the file's (gzip) bytes.
	MD5 string
	// ETag is the S3 ETag recorded at export time; it does not survive
	// copies made with multipart uploads, so it is informational only.
	ETag string
	// Size is the file's length in bytes, or 0 when unknown: it is filled
	// for full exports, whose data folder is listed anyway, but not for
	// incremental ones, whose shared data folder is never listed.
	Size int64
}

// Load reads and verifies the export in folder dir: both manifests against
// their MD5 files, the summary's item count against the per-file counts
// (full exports), and that every data file belongs to this export.
func Load(ctx context.Context, st objstore.Store, dir string) (*Export, error) {
	dir = strings.TrimSuffix(dir, "/")
	_, id := splitKey(dir)
	e := &Export{ID: id, Dir: dir, Location: objstore.Location(st, dir)}
	if id == "" || id == "." || id == ".." {
		return nil, fmt.Errorf("export %q: not an export folder: point --export at …/%s/<exportId>/ or at the folder containing %s/", dir, AWSDir, AWSDir)
	}

	summaryData, err := readManifest(ctx, st, dir, SummaryFile, maxSummaryBytes)
	if errors.Is(err, errManifestMissing) {
		return nil, e.missingSummary(ctx, st, err)
	}
	if err != nil {
		return nil, e.errorf("%w", err)
	}
	e.Summary, err = ParseSummary(summaryData)
	if err != nil {
		return nil, e.errorf("%s: %w: the file is not a DynamoDB export manifest or is damaged", SummaryFile, err)
	}

	filesData, err := readManifest(ctx, st, dir, FilesFile, maxFilesBytes)
	if errors.Is(err, errManifestMissing) {
		return nil, &multiError{
			msg:  e.errorf("%s not found although %s exists: the export was copied incompletely; copy the whole folder again", FilesFile, SummaryFile).Error(),
			errs: []error{err},
		}
	}
	if err != nil {
		return nil, e.errorf("%w", err)
	}
	e.Files, err = ParseManifestFiles(filesData)
	if err != nil {
		return nil, e.errorf("%s: %w: the file is not a DynamoDB export manifest or is damaged", FilesFile, err)
	}

	if err := e.resolveFiles(); err != nil {
		return nil, err
	}
	if !e.Incremental() {
		var sum int64
		for _, f := range e.Files {
			sum += f.ItemCount
		}
		if sum != e.Summary.ItemCount {
			return nil, e.errorf("%s lists %d items in %d files but %s says itemCount %d: the manifests disagree; re-export the table",
				FilesFile, sum, len(e.Files), SummaryFile, e.Summary.ItemCount)
		}
		if err := e.fillSizes(ctx, st); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Export) errorf(format string, args ...any) error {
	return fmt.Errorf("export %s: "+format, append([]any{e.Location}, args...)...)
}

// missingSummary explains a missing manifest-summary.json; _started tells a
// running export from a wrong path, which need different advice.
func (e *Export) missingSummary(ctx context.Context, st objstore.Store, cause error) error {
	_, err := st.Stat(ctx, e.Dir+"/"+StartedFile)
	switch {
	case err == nil:
		return &multiError{
			msg:  e.errorf("%s not found but %s exists: the export is still running or failed (DynamoDB writes the manifests last); wait for it to finish", SummaryFile, StartedFile).Error(),
			errs: []error{ErrIncomplete, cause},
		}
	case errors.Is(err, objstore.ErrNotFound):
		return &multiError{
			msg:  e.errorf("%s not found: the export is missing or incomplete (DynamoDB writes the manifests last; wait for the export to finish or point --export at the export folder)", SummaryFile).Error(),
			errs: []error{ErrIncomplete, cause},
		}
	default:
		return e.errorf("checking %s: %w", StartedFile, err)
	}
}

// resolveFiles maps manifest keys into the store and checks that each file
// belongs to this export, so a manifest cannot make floe read (and load into
// the table) files of another export, or anything outside AWSDynamoDB/.
func (e *Export) resolveFiles() error {
	awsRoot, _ := splitKey(e.Dir)
	want := e.ID + "/" + DataDir + "/"
	where := path.Join(AWSDir, e.ID, DataDir) + "/"
	if e.Incremental() {
		want = DataDir + "/"
		where = path.Join(AWSDir, DataDir) + "/"
	}
	for i := range e.Files {
		f := &e.Files[i]
		rel, ok := relToAWSDir(f.ManifestKey)
		if !ok {
			return e.errorf("%s: data file %q has no %s/ folder in its key: the manifest is damaged", FilesFile, f.ManifestKey, AWSDir)
		}
		if path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || !strings.HasPrefix(rel, want) || len(rel) == len(want) {
			return e.errorf("%s: data file %q is not under %s: the manifest does not belong to this export folder (was the folder renamed, or manifests of different exports mixed?)", FilesFile, f.ManifestKey, where)
		}
		f.Key = joinKey(awsRoot, rel)
	}
	return nil
}

// relToAWSDir returns what follows the last "AWSDynamoDB/" path segment.
// The last one, because a user's own prefix might contain that name too.
func relToAWSDir(key string) (string, bool) {
	const seg = AWSDir + "/"
	for end := len(key); ; {
		i := strings.LastIndex(key[:end], seg)
		if i < 0 {
			return "", false
		}
		if i == 0 || key[i-1] == '/' {
			return key[i+len(seg):], true
		}
		end = i
	}
}

// splitKey splits a key at its last slash. Unlike path.Dir it does not
// clean: in S3 "a//b" and "a/b" are different keys, and resolved keys must
// match listed ones byte for byte. A top-level key has parent "" ("/" for
// an absolute local key).
func splitKey(key string) (parent, name string) {
	i := strings.LastIndexByte(key, '/')
	switch {
	case i < 0:
		return "", key
	case i == 0:
		return "/", key[1:]
	}
	return key[:i], key[i+1:]
}

// joinKey is splitKey's inverse.
func joinKey(parent, name string) string {
	switch parent {
	case "":
		return name
	case "/":
		return "/" + name
	}
	return parent + "/" + name
}

// fillSizes lists the export's own data folder: one cheap request gives
// every size for progress reporting, and catches files lost in a copy now
// rather than halfway through a load.
func (e *Export) fillSizes(ctx context.Context, st objstore.Store) error {
	if len(e.Files) == 0 {
		return nil
	}
	objs, err := st.List(ctx, e.Dir+"/"+DataDir+"/")
	if err != nil {
		return e.errorf("listing data files: %w", err)
	}
	sizes := make(map[string]int64, len(objs))
	for _, o := range objs {
		sizes[o.Key] = o.Size
	}
	for i := range e.Files {
		f := &e.Files[i]
		size, ok := sizes[f.Key]
		if !ok {
			return &multiError{
				msg: e.errorf("data file %s listed in %s is missing: the export was copied incompletely or its files expired; restore them or re-export",
					objstore.Location(st, f.Key), FilesFile).Error(),
				errs: []error{objstore.ErrNotFound},
			}
		}
		f.Size = size
	}
	return nil
}

// errManifestMissing marks the manifest itself being absent, which Load
// explains differently from a missing checksum file.
var errManifestMissing = errors.New("manifest missing")

// readManifest reads dir/name and verifies it against its checksum file.
func readManifest(ctx context.Context, st objstore.Store, dir, name string, limit int64) ([]byte, error) {
	data, err := readAll(ctx, st, dir+"/"+name, limit)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, &multiError{msg: err.Error(), errs: []error{errManifestMissing, err}}
	}
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(name, ".json")
	md5Name, checksumName := base+".md5", base+".checksum"
	want, err := readAll(ctx, st, dir+"/"+md5Name, maxMD5Bytes)
	if errors.Is(err, objstore.ErrNotFound) {
		want, err = readAll(ctx, st, dir+"/"+checksumName, maxMD5Bytes)
		if errors.Is(err, objstore.ErrNotFound) {
			return nil, &multiError{
				msg:  fmt.Sprintf("%s: neither %s nor %s found, so the manifest cannot be verified: copy the checksum file along with the export", name, md5Name, checksumName),
				errs: []error{err},
			}
		}
		md5Name = checksumName
	}
	if err != nil {
		return nil, err
	}
	if ok, got := checksumMatches(string(want), data); !ok {
		return nil, &multiError{
			msg: fmt.Sprintf("%s: MD5 mismatch (%s says %s, content hashes to %s): the manifest is corrupt or was modified",
				name, md5Name, strings.TrimSpace(string(want)), got),
			errs: []error{ErrChecksum},
		}
	}
	return data, nil
}

func readAll(ctx context.Context, st objstore.Store, key string, limit int64) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", objstore.Location(st, key), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a DynamoDB export manifest", objstore.Location(st, key), limit)
	}
	return data, nil
}

// multiError carries a finished message and several sentinels, so callers
// can test errors.Is against each without the message listing them.
type multiError struct {
	msg  string
	errs []error
}

func (e *multiError) Error() string   { return e.msg }
func (e *multiError) Unwrap() []error { return e.errs }
