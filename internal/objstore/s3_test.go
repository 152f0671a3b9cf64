package objstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/floe-io/floe/internal/objstore/s3test"
)

func newTestS3(t *testing.T) (st *S3, root, endpoint string) {
	t.Helper()
	endpoint, bucket := s3test.Start(t)
	s, root, err := Parse(t.Context(), "s3://"+bucket+"/floe/", S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*S3), root, endpoint
}

func TestS3Contract(t *testing.T) {
	st, root, _ := newTestS3(t)
	testStoreContract(t, st, root)
}

func TestS3BigObject(t *testing.T) {
	st, root, _ := newTestS3(t)
	testBigObject(t, st, root+"big/object.bin")
	// S3 gives multipart objects an ETag ending in "-<parts>"; without it
	// this test would not prove the multipart path works.
	for _, k := range []string{root + "big/object.bin", root + "big/object.bin.stream"} {
		out, err := st.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(st.Bucket()), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		if etag := aws.ToString(out.ETag); !strings.Contains(etag, "-") {
			t.Errorf("%s: ETag %s is not a multipart ETag", k, etag)
		}
	}
}

func TestS3Errors(t *testing.T) {
	st, root, endpoint := newTestS3(t)
	ctx := t.Context()
	if got, want := st.URI(root+"x"), "s3://"+s3test.Bucket+"/floe/x"; got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}
	_, err := st.Open(ctx, root+"missing")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "s3://"+s3test.Bucket+"/floe/missing") {
		t.Errorf("Open missing: %v; want ErrNotFound naming the URI", err)
	}

	other, _, err := Parse(ctx, "s3://no-such-bucket/x", S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(ctx, "x"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open in a missing bucket: %v; want a bucket error that is not ErrNotFound", err)
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad, _, err := Parse(ctx, "s3://"+s3test.Bucket+"/", S3Options{Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.List(ctx, ""); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("List with a wrong secret: %v; want a hint about credentials", err)
	}
	// HEAD errors have no body and so no error code; the status must do.
	if _, err := bad.Stat(ctx, "x"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Stat with a wrong secret: %v; want a hint about credentials", err)
	}
}
