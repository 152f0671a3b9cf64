// Command scanbench measures a full-table scan of a floe table: it opens
// the SQLite catalog of a warehouse, loads the table and reads every row
// with iceberg-go (deletes applied, all columns), counting them. It prints
// the rows, the seconds the scan took and rows/s.
//
//	go run ./scripts/scanbench --warehouse .bench/merge-wh --table bench.orders
//
// scripts/bench-merge.sh uses it to compare the read rate of a table before
// and after an incremental export is merged in.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/catalog"
)

func main() {
	wh := flag.String("warehouse", "", "warehouse directory (its catalog.db is opened)")
	name := flag.String("table", "bench.orders", "table, namespace.name")
	flag.Parse()
	if *wh == "" {
		fmt.Fprintln(os.Stderr, "usage: scanbench --warehouse DIR [--table NS.NAME]")
		os.Exit(2)
	}
	if err := scan(context.Background(), *wh, *name); err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
}

func scan(ctx context.Context, wh, name string) error {
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: wh})
	if err != nil {
		return err
	}
	defer closeCat()
	tbl, err := cat.LoadTable(ctx, table.Identifier(strings.Split(name, ".")))
	if err != nil {
		return fmt.Errorf("loading %s: %w", name, err)
	}
	start := time.Now()
	_, recs, err := tbl.Scan().ToArrowRecords(ctx)
	if err != nil {
		return fmt.Errorf("scanning %s: %w", name, err)
	}
	var rows int64
	for rec, err := range recs {
		if err != nil {
			return fmt.Errorf("scanning %s: %w", name, err)
		}
		rows += rec.NumRows()
		rec.Release()
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("rows %d, %.2f s, %.0f rows/s\n", rows, secs, float64(rows)/secs)
	return nil
}
