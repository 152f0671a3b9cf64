package natsbus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Away reports whether err looks like the NATS server being unreachable
// (restarting, not yet up) rather than a real refusal: worth waiting for.
func Away(nc *nats.Conn, err error) bool {
	if err == nil {
		return false
	}
	if !nc.IsConnected() {
		return true
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

// WhileAway calls fn until it succeeds, fails for a reason other than the
// server being away (see Away), or ctx ends. Long-running processes use it
// at start, so that a server restarting just then is waited for instead of
// ending them.
func WhileAway(ctx context.Context, nc *nats.Conn, log *slog.Logger, what string, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !Away(nc, err) || ctx.Err() != nil {
			return err
		}
		log.Warn("NATS server unreachable; retrying", "while", what, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
