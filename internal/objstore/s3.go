package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Options configures how an S3 store reaches its server. The zero value
// means real AWS S3 with the default credential chain and region lookup.
type S3Options struct {
	// Endpoint overrides the S3 endpoint URL, for S3-compatible servers
	// (MinIO, versitygw, Ceph). A missing scheme means https.
	Endpoint string
	// Region overrides the region from the environment and shared config.
	Region string
	// PathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key; most S3-compatible servers need it.
	PathStyle bool
}

const (
	// s3MaxAttempts is higher than the SDK's 3 because floe runs long batch
	// jobs where a brief S3 brown-out should cost seconds, not the run.
	s3MaxAttempts = 10
	s3MaxBackoff  = 20 * time.Second
	// s3DefaultRegion is only used when nothing configures one; signing
	// needs some region, and S3-compatible servers usually accept this one.
	s3DefaultRegion = "us-east-1"
)

// S3 is a Store over one bucket. Keys are object keys, without a leading
// slash.
type S3 struct {
	client   *s3.Client
	uploader *transfermanager.Client
	bucket   string
}

// NewS3 builds an S3 store for bucket. Credentials come from the default
// chain (environment, shared config and SSO, web identity, container and
// instance roles); no request is made until the store is used.
func NewS3(ctx context.Context, bucket string, opts S3Options) (*S3, error) {
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("s3://%s: loading AWS configuration: %w", bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = s3DefaultRegion
	}
	// Respect retry settings the user made in the environment or profile;
	// otherwise retry harder than the SDK default, without the client-side
	// retry quota that would make many parallel workers give up together.
	if cfg.Retryer == nil && cfg.RetryMaxAttempts == 0 && cfg.RetryMode == "" {
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = s3MaxAttempts
				o.MaxBackoff = s3MaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}
	}
	checksum := aws.RequestChecksumCalculationWhenSupported
	if opts.Endpoint != "" {
		// Many S3-compatible servers reject or mangle the streaming CRC
		// trailers the SDK sends by default; only send checksums where the
		// API demands them. floe verifies data against the export's MD5s.
		checksum = aws.RequestChecksumCalculationWhenRequired
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			ep := opts.Endpoint
			if !strings.Contains(ep, "://") {
				ep = "https://" + ep
			}
			o.BaseEndpoint = aws.String(ep)
			o.RequestChecksumCalculation = checksum
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = opts.PathStyle
	})
	uploader := transfermanager.New(client, func(o *transfermanager.Options) {
		o.RequestChecksumCalculation = checksum
		// Abort a failed multipart upload even when the caller's context is
		// already cancelled, so parts do not linger and cost money.
		o.FailTimeout = 30 * time.Second
	})
	return &S3{client: client, uploader: uploader, bucket: bucket}, nil
}

// Bucket returns the bucket the store reads and writes.
func (s *S3) Bucket() string { return s.bucket }

// URI implements Locator.
func (s *S3) URI(key string) string { return "s3://" + s.bucket + "/" + key }

// Open implements Store. The returned reader resumes with a ranged GET if
// the connection breaks mid-object, because export data files can be large
// enough that a reset is likely and restarting from byte zero is wasteful.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	etag := aws.ToString(out.ETag)
	reopen := func(ctx context.Context, off int64) (io.ReadCloser, error) {
		in := &s3.GetObjectInput{
			Bucket: &s.bucket,
			Key:    &key,
			Range:  aws.String(fmt.Sprintf("bytes=%d-", off)),
		}
		// If-Match makes a resume fail instead of splicing two versions of
		// an object that was overwritten meanwhile.
		if etag != "" {
			in.IfMatch = aws.String(etag)
		}
		out, err := s.client.GetObject(ctx, in)
		if err != nil {
			return nil, s.wrap("get", key, err)
		}
		return out.Body, nil
	}
	return newResumingReader(ctx, s.URI(key), out.Body, size, reopen), nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return ObjectInfo{}, s.wrap("head", key, err)
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	files, _, err := s.list(ctx, prefix, "")
	return files, err
}

// ListDir implements DirLister with a delimited listing, so S3 returns the
// sub-prefixes without enumerating what is under them.
func (s *S3) ListDir(ctx context.Context, prefix string) ([]ObjectInfo, []string, error) {
	return s.list(ctx, prefix, "/")
}

func (s *S3) list(ctx context.Context, prefix, delim string) ([]ObjectInfo, []string, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix}
	if delim != "" {
		in.Delimiter = &delim
	}
	var files []ObjectInfo
	var dirs []string
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			// Zero-byte "folder" markers made by consoles and sync tools are
			// not objects anyone wants to read.
			if strings.HasSuffix(k, "/") {
				continue
			}
			files = append(files, ObjectInfo{Key: k, Size: aws.ToInt64(o.Size)})
		}
		for _, cp := range page.CommonPrefixes {
			dirs = append(dirs, aws.ToString(cp.Prefix))
		}
	}
	// AWS already returns key order; some compatible servers do not.
	slices.SortFunc(files, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(dirs)
	return files, dirs, nil
}

// Put implements Store. Large bodies go up as a multipart upload; S3 makes
// the object visible only once complete, which gives the same
// all-or-nothing guarantee as the local store's rename.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := s.uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: &s.bucket,
		Key:    &key,
		Body:   r,
	})
	if err != nil {
		return s.wrap("put", key, err)
	}
	return nil
}

// wrap turns SDK errors into ones that say what to check, keeping the
// original for debugging.
func (s *S3) wrap(op, key string, err error) error {
	loc := s.URI(key)
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return &notFoundError{loc: loc, err: err}
		case "NoSuchBucket":
			return fmt.Errorf("%s %s: bucket %q does not exist (check the bucket name, region and endpoint): %w", op, loc, s.bucket, err)
		case "PermanentRedirect", "MovedPermanently", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
			return fmt.Errorf("%s %s: the bucket is in another region; set the region (AWS_REGION or the S3 region option): %w", op, loc, err)
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
			verb := map[string]string{"get": "read", "head": "read", "list": "list", "put": "write"}[op]
			return fmt.Errorf("%s %s: access denied; check the AWS credentials and that they may %s this bucket: %w", op, loc, verb, err)
		}
	}
	if re, ok := errors.AsType[interface {
		error
		HTTPStatusCode() int
	}](err); ok && re.HTTPStatusCode() == 404 {
		// HEAD responses have no body, hence no error code.
		return &notFoundError{loc: loc, err: err}
	}
	return fmt.Errorf("%s %s: %w", op, loc, err)
}
