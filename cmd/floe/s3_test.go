package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/objstore/s3test"
	"github.com/floe-io/floe/internal/testutil"
)

// TestRunFromS3 runs the real binary on an export read from a real S3
// server (versitygw): a clean export must load exactly, and a damaged one
// must fail with exit code 1, naming the s3:// object, with nothing
// committed.
func TestRunFromS3(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	ctx := t.Context()

	local := t.TempDir()
	// A full export and two incremental exports, whose data files live in
	// the shared AWSDynamoDB/data/ folder that floe never lists.
	gen, err := exportgen.Generate(ctx, exportgen.Options{Dir: local, Items: 2000, Files: 3, Seed: 23, Edge: true, Incrementals: 2, ChangesPerIncremental: 300})
	if err != nil {
		t.Fatal(err)
	}
	ms := readManifest(t, gen.Full.Dir)
	big := largestFile(ms)
	bigRel, err := filepath.Rel(local, dataPath(local, ms[big]))
	if err != nil {
		t.Fatal(err)
	}
	bigRel = filepath.ToSlash(bigRel) // AWSDynamoDB/<id>/data/<name>.json.gz

	st, _, err := objstore.Parse(ctx, "s3://"+bucket+"/", objstore.S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	// upload copies the generated tree under prefix (which ends in "/").
	// The manifests record "exports/AWSDynamoDB/..." keys; other prefixes
	// check that data files are found relative to the export folder.
	upload := func(t *testing.T, prefix string) {
		t.Helper()
		err := filepath.WalkDir(filepath.Join(local, "AWSDynamoDB"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(local, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return st.Put(ctx, prefix+filepath.ToSlash(rel), bytes.NewReader(data))
		})
		if err != nil {
			t.Fatalf("uploading the export under %s: %v", prefix, err)
		}
	}
	run := func(t *testing.T, prefix, wh string, extra ...string) (int, string, string) {
		t.Helper()
		args := []string{"run", "--export", "s3://" + bucket + "/" + prefix + "AWSDynamoDB/",
			"--s3-endpoint", endpoint, "--s3-path-style",
			"--warehouse", wh, "--table", "s3.orders", "--key", "pk,sk", "--progress", "never"}
		return floe(t, append(args, extra...)...)
	}

	t.Run("load", func(t *testing.T) {
		upload(t, "exports/")
		wh := filepath.Join(t.TempDir(), "wh")
		code, stdout, stderr := run(t, "exports/", wh)
		if code != 0 || !strings.Contains(stdout, "committed to s3.orders") {
			t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if got := strings.Count(stdout, "merged into s3.orders"); got != 2 {
			t.Fatalf("%d incremental exports merged, want 2:\n%s", got, stdout)
		}
		tbl := loadTable(t, wh, "s3.orders")
		if n := len(tbl.Metadata().Snapshots()); n != 3 {
			t.Fatalf("%d snapshots, want 3", n)
		}
		assertTableEquals(t, tbl, gen.Incrementals[1].ExpectedPath)

		// The same exports again change nothing.
		code, stdout, stderr = run(t, "exports/", wh)
		if code != 0 || strings.Count(stdout, "skipped") != 3 {
			t.Fatalf("rerun: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if n := len(loadTable(t, wh, "s3.orders").Metadata().Snapshots()); n != 3 {
			t.Fatalf("rerun: %d snapshots, want 3", n)
		}
	})

	t.Run("missing data file", func(t *testing.T) {
		prefix := "missing/exports/"
		upload(t, prefix)
		client := s3.New(s3.Options{
			Region: s3test.Region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		})
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + bigRel)}); err != nil {
			t.Fatal(err)
		}
		wh := filepath.Join(t.TempDir(), "wh")
		code, _, stderr := run(t, prefix, wh)
		if code != 1 {
			t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
		}
		for _, w := range []string{"s3://" + bucket + "/" + prefix + bigRel, "is missing", "re-export"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, stderr)
			}
		}
		assertNoSnapshots(t, wh, "s3.orders")
	})

	// A data file whose bytes no longer match the manifest's MD5: first
	// found by the detection pass, then (with a pinned schema file, so the
	// table is created and loading starts) by the load itself.
	damaged := "damaged/exports/"
	upload(t, damaged)
	data, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(bigRel)))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // the manifest keeps the old MD5
	if err := st.Put(ctx, damaged+bigRel, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	checkDamaged := func(t *testing.T, wh string, extra ...string) {
		t.Helper()
		code, _, stderr := run(t, damaged, wh, extra...)
		if code != 1 {
			t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
		}
		for _, w := range []string{"s3://" + bucket + "/" + damaged + bigRel, "MD5", "re-export"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, stderr)
			}
		}
		assertNoSnapshots(t, wh, "s3.orders")
	}

	t.Run("damaged data file", func(t *testing.T) {
		checkDamaged(t, filepath.Join(t.TempDir(), "wh"))
	})

	t.Run("damaged data file, pinned schema", func(t *testing.T) {
		// The schema of the intact copy, detected over S3, pinned.
		schemaFile := filepath.Join(t.TempDir(), "schema.json")
		code, _, stderr := floe(t, "schema", "detect", "--export", "s3://"+bucket+"/exports/AWSDynamoDB/",
			"--s3-endpoint", endpoint, "--s3-path-style", "--key", "pk,sk", "--out", schemaFile)
		if code != 0 {
			t.Fatalf("schema detect: exit %d: %s", code, stderr)
		}
		raw, err := os.ReadFile(schemaFile)
		if err != nil {
			t.Fatal(err)
		}
		var sch map[string]any
		if err := json.Unmarshal(raw, &sch); err != nil {
			t.Fatalf("schema file: %v\n%s", err, raw)
		}
		sch["pinned"] = true
		raw, _ = json.Marshal(sch)
		write(t, schemaFile, raw)

		wh := filepath.Join(t.TempDir(), "wh")
		checkDamaged(t, wh, "--schema", schemaFile)
		if _, ok := floeTableInfo(t, wh, "s3.orders"); !ok {
			t.Fatal("with a pinned schema the table should have been created before loading failed")
		}
	})
}

// loadTable opens the warehouse's SQLite catalog and loads a table.
func loadTable(t *testing.T, wh, name string) *table.Table {
	t.Helper()
	cat, closeCat, err := catalog.Open(context.Background(), catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeCat() })
	tbl, err := cat.LoadTable(context.Background(), icecat.ToIdentifier(name))
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return tbl
}

// assertTableEquals compares every row and attribute of tbl with an
// expected-state file of the generator.
func assertTableEquals(t *testing.T, tbl *table.Table, expectedPath string) {
	t.Helper()
	if d, err := testutil.CompareTable(context.Background(), tbl, expectedPath, []string{"pk", "sk"}); err != nil {
		t.Fatal(err)
	} else if d != "" {
		t.Fatal(d)
	}
}

// tableInfo is the part of `floe table info --json` these tests read.
type tableInfo struct {
	Location  string `json:"location"`
	Snapshots []struct {
		ID     int64             `json:"id"`
		Marker map[string]string `json:"floe"`
	} `json:"snapshots"`
}

// floeTableInfo runs `floe table info --json`; ok is false when the
// warehouse or the table does not exist (yet).
func floeTableInfo(t *testing.T, wh, name string) (info tableInfo, ok bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(wh, "catalog.db")); err != nil {
		return info, false
	}
	code, out, stderr := floe(t, "table", "info", "--warehouse", wh, "--table", name, "--json")
	if code != 0 {
		if strings.Contains(stderr, "does not exist") || strings.Contains(stderr, "no such table") {
			return info, false
		}
		t.Fatalf("table info: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("table info: %v\n%s", err, out)
	}
	return info, true
}

// assertNoSnapshots checks that the table, if it was created, has no
// snapshot and no data files.
func assertNoSnapshots(t *testing.T, wh, name string) {
	t.Helper()
	info, ok := floeTableInfo(t, wh, name)
	if !ok {
		return
	}
	if len(info.Snapshots) != 0 {
		t.Fatalf("a failed run committed %d snapshots", len(info.Snapshots))
	}
	var files []string
	root := strings.TrimPrefix(info.Location, "file://")
	filepath.WalkDir(path.Join(root, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("a failed run left data files: %v", files)
	}
}
