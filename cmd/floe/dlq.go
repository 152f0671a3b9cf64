package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/deadletter"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/runner"
)

type dlqCmd struct {
	List   dlqListCmd   `cmd:"" help:"List a table's dead letters: items a plugin failed, with where they came from and why."`
	Show   dlqShowCmd   `cmd:"" help:"Show one dead letter in full, with its original export line."`
	Purge  dlqPurgeCmd  `cmd:"" help:"Remove a table's dead letters (all, or one export's) once they are dealt with."`
	Replay dlqReplayCmd `cmd:"" help:"Apply a table's dead letters again, through the plugins as they are now (fixed), as one merge snapshot; the replayed letters are removed, the ones that fail again stay."`
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
		// One line per letter: the error's first line, cut short
		// (floe dlq show has it all).
		msg, _, more := strings.Cut(l.Error, "\n")
		if len(msg) > 120 {
			msg, more = msg[:120], true
		}
		if more {
			msg += " …"
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

type dlqReplayCmd struct {
	dlqSource
	Table     string        `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	Export    string        `help:"Only the dead letters of this export id." placeholder:"ID"`
	Wait      time.Duration `help:"With --nats: how long to wait for the table's committer to apply the replay." default:"10m" placeholder:"DURATION"`
	NoPlugins bool          `help:"With --warehouse: replay without plugins (the items go into the table as exported). Without it, --plugin is required, so that a replay never skips a plugin by mistake."`
	pluginFlags
}

func (c *dlqReplayCmd) Run(ctx context.Context, g *globals) error {
	if c.NATS != "" && len(c.Plugin) > 0 {
		return errors.New("--plugin goes with --warehouse: with --nats the transformers replay the items through the plugins they run")
	}
	if c.Warehouse != "" && len(c.Plugin) == 0 && !c.NoPlugins {
		return errors.New("give the (fixed) plugins to replay through with --plugin and --plugin-config, as for floe run, or --no-plugins to replay without any")
	}
	js, closeAll, err := c.connect(ctx, g)
	if err != nil {
		return err
	}
	var seqs []uint64
	err = deadletter.List(ctx, js, deadletter.Filter{Table: c.Table, ExportID: c.Export}, func(l *deadletter.Letter) error {
		seqs = append(seqs, l.Seq)
		return nil
	})
	if err != nil || len(seqs) == 0 {
		closeAll()
		if err == nil {
			fmt.Printf("no dead letters for %s\n", c.Table)
		}
		return err
	}
	plan := deadletter.ReplayPlan(c.Table, seqs)
	var final natsbus.Event
	if c.Warehouse != "" {
		closeAll() // floe run takes the warehouse next
		if final, err = c.replayHere(ctx, g, plan); err != nil {
			return err
		}
		js, closeAll, err = c.connect(ctx, g)
		if err != nil {
			return err
		}
	} else if final, err = c.replayInFleet(ctx, js, plan); err != nil {
		closeAll()
		return err
	}
	defer closeAll()
	if final.Status == natsbus.StatusFailed {
		return fmt.Errorf("replay %s failed; the dead letters stay: %s", plan.ExportID, final.Error)
	}
	// Applied (now, or by an earlier run of the same replay): the
	// letters are done with. Those that failed again are new letters.
	if err := deadletter.Delete(ctx, js, seqs); err != nil {
		return fmt.Errorf("replay %s is applied, but removing its dead letters failed (run it again: it finds itself applied and only removes them): %w", plan.ExportID, err)
	}
	fmt.Printf("replayed %d dead letters into %s (%s): %d kept, %d dropped, %d failed again\n", len(seqs), c.Table, plan.ExportID, final.Kept, final.Dropped, final.Failed)
	return nil
}

// replayHere applies the replay with floe run's pipeline.
func (c *dlqReplayCmd) replayHere(ctx context.Context, g *globals, plan natsbus.Plan) (natsbus.Event, error) {
	stages, closePlugins, err := c.load(ctx, g.log)
	if err != nil {
		return natsbus.Event{}, err
	}
	defer closePlugins()
	res, err := runner.Run(ctx, runner.Options{
		Plan: planner.Options{Table: c.Table}, Plans: []natsbus.Plan{plan}, Warehouse: absPath(c.Warehouse),
		NatsStore: c.NatsStore, Log: g.log, Fault: g.fault, Plugins: stages,
	})
	if res != nil {
		printSummary(os.Stdout, c.Table, res)
	}
	if err != nil {
		return natsbus.Event{}, err
	}
	for _, e := range res.Events {
		if e.ExportID == plan.ExportID {
			return e, nil
		}
	}
	return natsbus.Event{}, fmt.Errorf("replay %s: the run ended without a result", plan.ExportID)
}

// replayInFleet hands the replay to the table's committer and waits for
// its result.
func (c *dlqReplayCmd) replayInFleet(ctx context.Context, js jetstream.JetStream, plan natsbus.Plan) (natsbus.Event, error) {
	events := make(chan natsbus.Event, 16)
	sub, err := js.Conn().Subscribe(natsbus.EventSubject(c.Table), func(m *nats.Msg) {
		var e natsbus.Event
		if json.Unmarshal(m.Data, &e) == nil && e.ExportID == plan.ExportID && e.Attempt == plan.Attempt && e.Final() {
			events <- e
		}
	})
	if err != nil {
		return natsbus.Event{}, err
	}
	defer sub.Unsubscribe()
	if err := planner.Publish(ctx, js, []natsbus.Plan{plan}); err != nil {
		return natsbus.Event{}, err
	}
	fmt.Printf("submitted replay %s of %d dead letters; waiting for the committer of %s\n", plan.ExportID, plan.ItemCount, c.Table)
	select {
	case e := <-events:
		return e, nil
	case <-time.After(c.Wait):
		return natsbus.Event{}, fmt.Errorf("replay %s: no result from the committer of %s within %s (is one running?); the dead letters stay, and the replay may still be applied: run floe dlq replay again later", plan.ExportID, c.Table, c.Wait)
	case <-ctx.Done():
		return natsbus.Event{}, ctx.Err()
	}
}
