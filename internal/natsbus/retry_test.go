package natsbus

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestWhileAway starts a process before its NATS server: setting up the
// streams waits for the server instead of failing, and a real refusal is
// returned at once.
func TestWhileAway(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	nc, err := nats.Connect("nats://127.0.0.1:"+itoa(port), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
		if err != nil {
			t.Error(err)
			return
		}
		ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	}()
	ctx := testContext(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	err = WhileAway(ctx, nc, log, "setting up", func() error {
		return Setup(ctx, js, DefaultConfig)
	})
	if err != nil {
		t.Fatalf("setup with a server that comes up later: %v", err)
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Fatalf("setup succeeded before the server started")
	}
	refusal := errors.New("refused for a reason")
	calls := 0
	if err := WhileAway(ctx, nc, log, "refusing", func() error { calls++; return refusal }); !errors.Is(err, refusal) || calls != 1 {
		t.Fatalf("a refusal: err %v after %d calls, want it returned after one", err, calls)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
