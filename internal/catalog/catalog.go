// Package catalog opens the Iceberg catalog a floe table lives in.
package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, so the binary stays static
)

// Name is the catalog name floe registers tables under. Other engines
// opening the same SQL catalog must use it too (PyIceberg:
// load_catalog("floe", type="sql", ...)).
const Name = "floe"

// Config selects a catalog.
type Config struct {
	// Type is the catalog type. Only "sql" (SQLite) is implemented so far.
	Type string
	// URI is the catalog's address; for SQLite, the database file
	// (default <warehouse>/catalog.db).
	URI string
	// Warehouse is where new tables' data and metadata go: a local path.
	Warehouse string
	// Fault, if set, is called at FaultCatalogUpdate: a hook for the crash
	// tests, which must stop the process exactly there.
	Fault func(point string)
}

// Open opens the catalog, creating the SQLite database if needed. The
// returned function closes it.
func Open(ctx context.Context, cfg Config) (icecat.Catalog, func() error, error) {
	switch cfg.Type {
	case "", "sql", "sqlite":
	default:
		return nil, nil, fmt.Errorf("catalog type %q is not supported yet; use sql (SQLite)", cfg.Type)
	}
	wh, err := filepath.Abs(cfg.Warehouse)
	if err != nil {
		return nil, nil, fmt.Errorf("warehouse %s: %w", cfg.Warehouse, err)
	}
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return nil, nil, fmt.Errorf("warehouse %s is not writable: %w; choose a directory you can write to with --warehouse", wh, err)
	}
	path := cfg.URI
	if path == "" {
		path = filepath.Join(wh, "catalog.db")
	}
	// WAL and a busy timeout let other readers (PyIceberg, floe table
	// info) open the catalog while a run commits.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	var db *sql.DB
	if cfg.Fault != nil {
		db = sql.OpenDB(faultConnector{dsn: dsn, fault: cfg.Fault})
	} else if db, err = sql.Open("sqlite", dsn); err != nil {
		return nil, nil, fmt.Errorf("sqlite catalog %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlite catalog %s: %w; check the file is a SQLite database and writable", path, err)
	}
	whURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(wh)}).String()
	cat, err := sqlcat.NewCatalog(Name, db, sqlcat.SQLite, iceberg.Properties{"warehouse": whURL})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlite catalog %s: %w", path, err)
	}
	return cat, func() error { cat.Close(); return db.Close() }, nil
}
