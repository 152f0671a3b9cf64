package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/plugins"
)

type pluginCmd struct {
	Test pluginTestCmd `cmd:"" help:"Run a plugin on DynamoDB JSON lines and print what it makes of each item."`
}

type pluginTestCmd struct {
	Plugin  string        `arg:"" help:"The plugin module. Its JSON configuration goes in --config '{...}'." type:"existingfile" placeholder:"FILE.wasm"`
	Input   string        `help:"DynamoDB JSON lines: export lines ({\"Item\": {...}} or incremental records) or bare items; - for standard input." required:"" placeholder:"FILE"`
	Key     []string      `help:"Key attributes the plugin must not change, as in a table (e.g. --key pk,sk)." placeholder:"PK[,SK]"`
	Timeout time.Duration `help:"Deadline of each call into the plugin." default:"10s" placeholder:"DURATION"`
	Memory  byteSize      `help:"Memory cap of the plugin instance." default:"256MiB" placeholder:"SIZE"`
	Quiet   bool          `help:"Print only the counts and the timing, not every item."`
}

func (c *pluginTestCmd) Run(ctx context.Context, g *globals) error {
	st, err := plugins.Load(ctx, c.Plugin, g.pluginConfig(), plugins.Options{MemoryLimitBytes: uint64(c.Memory), Timeout: c.Timeout})
	if err != nil {
		return err
	}
	defer st.Runtime.Close(context.WithoutCancel(ctx))
	in := os.Stdin
	if c.Input != "-" {
		if in, err = os.Open(c.Input); err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		defer in.Close()
	}
	chain := plugins.NewChain([]plugins.Stage{st}, plugins.ChainOptions{})
	defer chain.Close(ctx)
	out := make([]byte, 0, 4096)
	n, err := plugins.RunLines(ctx, chain, in, c.Key, func(line int, _ ddb.Item, o *plugins.Outcome) error {
		if c.Quiet {
			return nil
		}
		out = out[:0]
		switch {
		case o.Failure != nil:
			out = fmt.Appendf(out, "line %d: FAILED: %v\n", line, o.Failure.Err)
		case o.Dropped():
			out = fmt.Appendf(out, "line %d: dropped\n", line)
		default:
			for _, it := range o.Items {
				out = fmt.Appendf(out, "line %d: ", line)
				out = ddb.AppendItemJSON(out, it)
				out = append(out, '\n')
			}
		}
		_, err := os.Stdout.Write(out)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.Input, err)
	}
	info := st.Runtime.Info()
	fmt.Printf("%s: %d items in: %d kept, %d dropped, %d failed", info, n.In, n.Kept, n.Dropped, n.Failed)
	if n.In > 0 {
		fmt.Printf("; %.2f µs per item in the plugin (batches of %d)", float64(n.Time.Nanoseconds())/1e3/float64(n.In), plugins.LineBatch)
	}
	fmt.Println()
	return nil
}
