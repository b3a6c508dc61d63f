package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// quoteIdent quotes a MariaDB identifier: backticks around it, and every
// backtick inside doubled.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// checkName rejects names MariaDB cannot hold as a database name, before the
// server is asked to create one.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty database name")
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("database name %q contains a NUL byte", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("database name %q is not valid UTF-8", name)
	case utf8.RuneCountInString(name) > 64:
		return fmt.Errorf("database name %q is longer than 64 characters, the MariaDB limit", name)
	}
	return nil
}

// config is the driver configuration for s.
func (s settings) config() *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net = "unix"
	cfg.Addr = s.socket
	cfg.User = s.user
	cfg.Passwd = s.password
	cfg.Timeout = 5 * time.Second
	return cfg
}

// connect opens a connection pool to the server. With wait it waits up to
// the timeout property for the socket to appear and the server to answer,
// as upstream does before activating; authentication errors are returned at
// once, since waiting cannot cure them.
func connect(ctx context.Context, s settings, report ui.Reporter, wait bool) (*sql.DB, error) {
	c, err := mysql.NewConnector(s.config())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.socket, err)
	}
	db := sql.OpenDB(c)
	deadline := time.Now().Add(s.timeout)
	// The timeout bounds the whole wait, each attempt included: a server
	// that accepts connections and never answers must not stretch it.
	pctx := ctx
	if wait && s.timeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	told := false
	for {
		err := ping(pctx, db)
		if err == nil {
			return db, nil
		}
		if !wait || refused(err) || !time.Now().Before(deadline) {
			db.Close()
			if wait && !refused(err) {
				return nil, fmt.Errorf("server on socket %s did not answer within %s: %w", s.socket, s.timeout, err)
			}
			return nil, fmt.Errorf("connect to server on socket %s as %s: %w", s.socket, s.user, err)
		}
		if !told {
			told = true
			report.Infof("waiting up to %s for the MariaDB server on %s", s.timeout, s.socket)
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, ctx.Err()
		case <-pctx.Done():
		case <-time.After(min(200*time.Millisecond, time.Until(deadline))):
		}
	}
}

func ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// refused reports a server answer that waiting will not change: access
// denied (1044, 1045, 1698) or an authentication method the driver lacks
// (1251). Other errors, such as too many connections, are waited out.
func refused(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1044, 1045, 1698, 1251:
		return true
	}
	return false
}

// queryer is what *sql.DB and *sql.Conn have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// databases lists the server's databases.
func databases(ctx context.Context, q queryer) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return names, nil
}

// databaseExists reports whether a database named exactly name exists (a
// byte-wise comparison: neither a pattern nor a case-insensitive match).
func databaseExists(ctx context.Context, q queryer, name string) (bool, error) {
	names, err := databases(ctx, q)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// tag is a short, stable digest of a database name, used in the names of
// the module's named lock and temporary databases, which must stay within
// 64 characters whatever the component is called.
func tag(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:16]
}

// lockName is the MariaDB named lock that serialises the module's
// activities that change the database.
func lockName(name string) string { return "dysnomia:" + tag(name) }

// lockComponent connects to the server and takes the component's named lock
// on a dedicated connection, waiting up to the timeout property. The lock
// lives as long as the connection, so a killed process never leaves it
// behind. release frees it and closes the connection.
func lockComponent(ctx context.Context, s settings, req *module.Request, name string) (*sql.Conn, func(), error) {
	db, err := connect(ctx, s, req.Report, true)
	if err != nil {
		return nil, nil, err
	}
	conn, release, err := componentLock(ctx, db, name, s.timeout)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return conn, func() { release(); db.Close() }, nil
}

// componentLock takes the component's named lock on a dedicated connection
// of db, waiting up to wait. release frees it and the connection.
func componentLock(ctx context.Context, db *sql.DB, name string, wait time.Duration) (*sql.Conn, func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	secs := int(wait / time.Second)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lockName(name), secs).Scan(&got); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("take lock %s: %w", lockName(name), err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, nil, fmt.Errorf("another dysnomia process is restoring, activating or collecting database %q (named lock %s held for more than %s)", name, lockName(name), wait)
	}
	release := func() {
		ctx := context.WithoutCancel(ctx)
		conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", lockName(name))
		conn.Close()
	}
	return conn, release, nil
}

// lockHolder returns the connection id holding the component's named lock,
// or 0 when it is free.
func lockHolder(ctx context.Context, q queryer, name string) (int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT IS_USED_LOCK(?)", lockName(name))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var id sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
	}
	return id.Int64, rows.Err()
}
