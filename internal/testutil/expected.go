package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/ddb"
)

// ReadExpected reads a generator's expected-state file (gzip'd DynamoDB
// JSON lines, {"Item":{...}}) and returns its items sorted by key.
func ReadExpected(path string, key []string) ([]ddb.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := ddb.NewGzipReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer gz.Close()
	lines := ddb.NewLineReader(gz, 0)
	dec := ddb.NewJSONDecoder()
	var items []ddb.Item
	for {
		line, err := lines.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rec, err := dec.Decode(line)
		if errors.Is(err, ddb.ErrNoRecord) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, lines.Line(), err)
		}
		items = append(items, rec.Item.Clone())
	}
	SortItems(items, key)
	return items, nil
}

// Diff compares a table's items with the expected items by key and
// describes up to max differences; "" means equal.
func Diff(got, want []ddb.Item, key []string, max int) string {
	gm := make(map[string]string, len(got))
	keyOf := func(it ddb.Item) string {
		var parts []string
		for _, k := range key {
			if v := it.Get(k); v != nil {
				parts = append(parts, NumberKey(v))
			}
		}
		return strings.Join(parts, "|")
	}
	for _, it := range got {
		gm[keyOf(it)] = CanonicalItem(it)
	}
	var diffs []string
	seen := make(map[string]bool, len(want))
	for _, it := range want {
		k := keyOf(it)
		seen[k] = true
		w := CanonicalItem(it)
		g, ok := gm[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing row %s: want %s", k, jsonString(it)))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("row %s differs:\n  got  %s\n  want %s", k, g, w))
		}
	}
	for _, it := range got {
		if k := keyOf(it); !seen[k] {
			diffs = append(diffs, fmt.Sprintf("unexpected row %s: %s", k, jsonString(it)))
		}
	}
	if len(got) != len(gm) {
		diffs = append(diffs, fmt.Sprintf("%d rows share keys with other rows (duplicates)", len(got)-len(gm)))
	}
	if len(diffs) == 0 {
		return ""
	}
	n := len(diffs)
	diffs = slices.Clip(diffs[:min(max, n)])
	return fmt.Sprintf("%d rows got vs %d want; %d differences, first %d:\n%s", len(got), len(want), n, len(diffs), strings.Join(diffs, "\n"))
}

// CompareTable reads every row of tbl and the expected-state file and
// describes their first differences (up to 5); "" means the table holds
// exactly the expected items, attribute by attribute.
func CompareTable(ctx context.Context, tbl *table.Table, expectedPath string, key []string) (string, error) {
	got, err := ReadItems(ctx, tbl)
	if err != nil {
		return "", err
	}
	want, err := ReadExpected(expectedPath, key)
	if err != nil {
		return "", err
	}
	return Diff(got, want, key, 5), nil
}
