package export

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/objstore/s3test"
)

// TestS3 runs the fixture suite against a real S3 server, with the fixtures
// uploaded under a prefix unrelated to the one their manifests record.
func TestS3(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	st, root, err := objstore.Parse(t.Context(), "s3://"+bucket+"/copied/elsewhere", objstore.S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel("testdata", p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return st.Put(t.Context(), root+"/"+filepath.ToSlash(rel), bytes.NewReader(data))
	})
	if err != nil {
		t.Fatalf("uploading fixtures: %v", err)
	}
	runSuite(t, st, root)
}
