// Package s3test runs a real S3 server (versitygw on a temporary directory)
// for tests, so S3 code paths are exercised against the actual protocol
// rather than a mock.
//
// The server binary is installed by `make tools`
// (go install github.com/versity/versitygw/cmd/versitygw@<version>). When it
// is missing, Start skips the test, unless FLOE_S3TEST_REQUIRE is set (as CI
// should do), in which case it fails.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials and names of the test server. Start exports them through the
// standard AWS environment variables, so code under test finds them with
// the default credential chain exactly as in production.
const (
	AccessKey = "floetestaccess"
	SecretKey = "floetestsecretkey"
	Region    = "us-east-1"
	Bucket    = "floe-test"
)

const (
	// Binary is the server executable Start looks for.
	Binary = "versitygw"
	// RequireEnv, when set to a non-empty value, turns a missing server
	// binary into a test failure instead of a skip, so CI cannot silently
	// stop testing S3.
	RequireEnv = "FLOE_S3TEST_REQUIRE"
	// BinaryEnv may hold the server binary's path, overriding the search.
	BinaryEnv = "FLOE_VERSITYGW"

	readyTimeout = 30 * time.Second
	maxLogBytes  = 64 << 10
)

// Start launches a fresh S3 server on a free loopback port, creates a bucket
// and points the AWS environment variables at the server's credentials for
// the rest of the test. It returns the endpoint URL (use it with path-style
// addressing) and the bucket name. The server is killed when the test ends.
//
// Because it uses t.Setenv, Start cannot be used in parallel tests.
func Start(t testing.TB) (endpoint, bucket string) {
	t.Helper()
	bin := findBinary()
	if bin == "" {
		msg := fmt.Sprintf("s3test: %s not found in $%s, $PATH, $GOBIN or $GOPATH/bin; run `make tools` to install it", Binary, BinaryEnv)
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s (%s is set, so S3 tests may not be skipped)", msg, RequireEnv)
		}
		t.Skip(msg)
	}

	setEnv(t)
	dir := t.TempDir()
	var lastErr error
	// A port picked free can be taken before the server binds it; a few
	// attempts make that race irrelevant.
	for range 3 {
		srv, err := launch(t, bin, dir)
		if err == nil {
			endpoint = "http://" + srv.addr
			if err := createBucket(t.Context(), endpoint, Bucket); err != nil {
				t.Fatalf("s3test: creating bucket %s on %s: %v\nserver output:\n%s", Bucket, endpoint, err, srv.log.String())
			}
			return endpoint, Bucket
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("s3test: %v", lastErr)
	return "", ""
}

var errAddrInUse = errors.New("address already in use")

type server struct {
	addr string
	log  *syncBuffer
}

func launch(t testing.TB, bin, dir string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	data := filepath.Join(dir, "data")
	// A sidecar directory holds object metadata, so the server does not
	// depend on the temp filesystem supporting extended attributes.
	meta := filepath.Join(dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	log := &syncBuffer{}
	cmd := exec.Command(bin,
		"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", addr, "--quiet",
		"posix", "--sidecar", meta, data)
	cmd.Env = serverEnv()
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = procAttr()

	if err := startPinned(t, cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("s3test: %s output:\n%s", Binary, log.String())
		}
	})

	deadline := time.Now().Add(readyTimeout)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			out := log.String()
			if strings.Contains(out, "address already in use") {
				return nil, errAddrInUse
			}
			return nil, fmt.Errorf("%s exited before becoming ready (%s); output:\n%s", Binary, cmd.ProcessState, out)
		default:
		}
		// Any HTTP answer (an auth error included) means it is serving.
		if resp, err := hc.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return &server{addr: addr, log: log}, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("%s not ready on %s after %s; output:\n%s", Binary, addr, readyTimeout, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startPinned starts cmd from an OS thread that stays alive until the test
// ends: Linux delivers the parent-death signal when the *thread* that forked
// the child exits, and Go may retire threads at any time otherwise.
func startPinned(t testing.TB, cmd *exec.Cmd) error {
	started := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			<-release
		}
	}()
	err := <-started
	if err == nil {
		t.Cleanup(func() { close(release) })
	}
	return err
}

func findBinary() string {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p
	}
	if p, err := exec.LookPath(Binary); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, d := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	name := Binary
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// setEnv isolates the code under test from the developer's own AWS setup:
// a profile, SSO session or endpoint override would otherwise win over the
// test server's credentials.
func setEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_DEFAULT_REGION", Region)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_DEFAULT_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// serverEnv drops the server's own configuration variables, which would
// otherwise silently change its flags (ports, credentials, backends).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VGW_") || strings.HasPrefix(k, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func createBucket(ctx context.Context, endpoint, bucket string) error {
	client := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}

// syncBuffer collects server output from the process's pipe goroutines
// while tests read it; it keeps only the tail, which holds the failure.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > maxLogBytes {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()-maxLogBytes/2:]...)
		b.buf.Reset()
		b.buf.WriteString("[...]\n")
		b.buf.Write(tail)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
