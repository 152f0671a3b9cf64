package catalog

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// FaultCatalogUpdate is the fault point (see Config.Fault) just before the
// SQL catalog points a table at its new metadata file: the file is
// written, the catalog does not know it yet.
const FaultCatalogUpdate = "catalog-update"

// faultConnector opens SQLite connections that call fault before every
// UPDATE of the catalog's table of tables. Only the crash tests set a
// fault; the catalog's statements are otherwise passed through untouched.
type faultConnector struct {
	dsn   string
	fault func(point string)
}

func (c faultConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: conn, fault: c.fault}, nil
}

func (c faultConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// faultConn passes everything to the SQLite connection, watching Exec.
type faultConn struct {
	driver.Conn
	fault func(point string)
}

func (c *faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if q := strings.TrimSpace(query); len(q) > 6 && strings.EqualFold(q[:6], "UPDATE") && strings.Contains(q, "iceberg_tables") {
		c.fault(FaultCatalogUpdate)
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *faultConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}
