package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/deadletter"
	"github.com/floe-io/floe/internal/runner"
)

type dlqCmd struct {
	List  dlqListCmd  `cmd:"" help:"List a table's dead letters: items a plugin failed, with where they came from and why."`
	Show  dlqShowCmd  `cmd:"" help:"Show one dead letter in full, with its original export line."`
	Purge dlqPurgeCmd `cmd:"" help:"Remove a table's dead letters (all, or one export's) once they are dealt with."`
}

// dlqSource says where the dead letters are: the NATS server of a fleet,
// or the embedded store of floe run's warehouse.
type dlqSource struct {
	NATS      string `help:"NATS server URL(s) of a fleet (floe transformer); give this or --warehouse." placeholder:"URL" xor:"source" required:""`
	Warehouse string `help:"Warehouse of floe run, whose embedded NATS store holds its dead letters (no floe run may be running on it)." placeholder:"PATH" xor:"source" required:""`
	NatsStore string `help:"floe run's --nats-store, if it was given." placeholder:"DIR"`
}

func (s dlqSource) connect(ctx context.Context, g *globals) (jetstream.JetStream, func(), error) {
	if s.Warehouse != "" {
		nc, closeAll, err := runner.OpenEmbedded(ctx, absPath(s.Warehouse), s.NatsStore, g.log)
		if err != nil {
			return nil, nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		return js, closeAll, nil
	}
	nc, js, err := natsFlags{NATS: s.NATS}.connect(ctx, "floe-dlq", g.log, false)
	if err != nil {
		return nil, nil, err
	}
	return js, nc.Close, nil
}

type dlqListCmd struct {
	dlqSource
	Table  string `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	Export string `help:"Only the dead letters of this export id." placeholder:"ID"`
	JSON   bool   `help:"Print one JSON object per dead letter instead of a table."`
}

func (c *dlqListCmd) Run(ctx context.Context, g *globals) error {
	js, closeAll, err := c.connect(ctx, g)
	if err != nil {
		return err
	}
	defer closeAll()
	var tw *tabwriter.Writer
	enc := json.NewEncoder(os.Stdout)
	n := 0
	err = deadletter.List(ctx, js, deadletter.Filter{Table: c.Table, ExportID: c.Export}, func(l *deadletter.Letter) error {
		n++
		if c.JSON {
			return enc.Encode(l)
		}
		if tw == nil {
			tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tEXPORT\tFILE\tLINE\tPLUGIN\tERROR")
		}
		msg := l.Error
		if len(msg) > 120 {
			msg = msg[:120] + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", l.Seq, l.ExportID, l.Source, l.Line, l.Plugin, msg)
		return nil
	})
	if tw != nil {
		tw.Flush()
	}
	if err != nil {
		return err
	}
	if n == 0 && !c.JSON {
		fmt.Printf("no dead letters for %s\n", c.Table)
	}
	return nil
}

type dlqShowCmd struct {
	dlqSource
	Seq uint64 `arg:"" help:"The dead letter's sequence number (SEQ in floe dlq list)."`
	Raw bool   `help:"Print only the original export line, byte for byte."`
}

func (c *dlqShowCmd) Run(ctx context.Context, g *globals) error {
	js, closeAll, err := c.connect(ctx, g)
	if err != nil {
		return err
	}
	defer closeAll()
	l, err := deadletter.Get(ctx, js, c.Seq)
	if err != nil {
		return err
	}
	if c.Raw {
		_, err := os.Stdout.Write(append(l.Record, '\n'))
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "seq\t%d\n", l.Seq)
	fmt.Fprintf(w, "table\t%s\n", l.Table)
	fmt.Fprintf(w, "export\t%s (%s, attempt %s)\n", l.ExportID, l.ExportType, l.Attempt)
	fmt.Fprintf(w, "file\t%s, line %d\n", l.Source, l.Line)
	fmt.Fprintf(w, "plugin\t%s\n", l.Plugin)
	fmt.Fprintf(w, "failed at\t%s\n", l.Time.Format("2006-01-02 15:04:05Z07:00"))
	fmt.Fprintf(w, "error\t%s\n", l.Error)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("record (%s):\n%s\n", l.Format, l.Record)
	return nil
}

type dlqPurgeCmd struct {
	dlqSource
	Table  string `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	Export string `help:"Only the dead letters of this export id." placeholder:"ID"`
}

func (c *dlqPurgeCmd) Run(ctx context.Context, g *globals) error {
	js, closeAll, err := c.connect(ctx, g)
	if err != nil {
		return err
	}
	defer closeAll()
	n, err := deadletter.Purge(ctx, js, deadletter.Filter{Table: c.Table, ExportID: c.Export})
	if err != nil {
		return err
	}
	fmt.Printf("removed %d dead letters of %s\n", n, c.Table)
	return nil
}
