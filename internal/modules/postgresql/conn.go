package postgresql

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql/peer"
)

// session is what an activity needs to reach the server: the settings and
// the OS identity that connections and programs use.
type session struct {
	*settings
	id *peer.Identity // OS user named by postgresqlUsername; nil when there is none
}

func newSession(s *settings) (*session, error) {
	id, err := peer.Lookup(s.User)
	if err != nil {
		return nil, err
	}
	return &session{settings: s, id: id}, nil
}

// maintenanceDB is the database control connections use: "postgres", or
// "template1" when the component itself is called postgres (a database
// cannot be renamed or dropped from a connection to it).
func maintenanceDB(component string) string {
	if component == "postgres" {
		return "template1"
	}
	return "postgres"
}

// config builds a pgx configuration for db. Every connection parameter is
// set explicitly, so that PG* variables of the caller do not redirect it.
func (ss *session) config(db string) (*pgx.ConnConfig, error) {
	sslmode := "prefer"
	if ss.socketDir() != "" {
		sslmode = "disable"
	}
	cfg, err := pgx.ParseConfig("sslmode=" + sslmode + " application_name=dysnomia")
	if err != nil {
		return nil, err
	}
	cfg.Host = ss.host()
	cfg.Port = uint16(ss.Port)
	cfg.User = ss.User
	cfg.Password = ss.Password
	cfg.Database = db
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = 10 * time.Second
	d := &peer.Dialer{As: ss.id, Timeout: cfg.ConnectTimeout}
	cfg.DialFunc = d.DialContext
	return cfg, nil
}

// connect opens one connection to db.
func (ss *session) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := ss.config(db)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// reporter is the part of ui.Reporter the wait loop uses.
type reporter interface {
	Infof(format string, args ...any)
}

// wait connects to db, retrying for up to Timeout while the server is not
// there yet or still starting. Errors that waiting cannot fix (a refused
// login, a missing database) end the wait at once.
func (ss *session) wait(ctx context.Context, rep reporter, db string) (*pgx.Conn, error) {
	deadline := time.Now().Add(ss.Timeout)
	// The timeout bounds the whole wait, each attempt included: a server
	// that accepts connections and never answers must not stretch it to
	// the connect timeout. (With no timeout, one attempt is made.)
	wctx := ctx
	if ss.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	told := time.Time{}
	for attempt := 1; ; attempt++ {
		conn, err := ss.connect(wctx, db)
		if err == nil {
			return conn, nil
		}
		if !retryable(err) || !time.Now().Before(deadline) || ctx.Err() != nil {
			if retryable(err) && ss.Timeout > 0 {
				return nil, fmt.Errorf("PostgreSQL at %s did not answer within %s: %w", ss.where(), ss.Timeout, err)
			}
			return nil, fmt.Errorf("connect to PostgreSQL at %s as %q: %w", ss.where(), ss.User, err)
		}
		if time.Since(told) >= time.Second {
			rep.Infof("waiting for PostgreSQL at %s (%s left): %v", ss.where(), time.Until(deadline).Round(time.Second), shortErr(err))
			told = time.Now()
		}
		select {
		case <-wctx.Done():
		case <-time.After(min(250*time.Millisecond, time.Until(deadline))):
		}
	}
}

// retryable tells errors of a server that is absent or starting up from
// those of a server that answered and said no.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 57P03 cannot_connect_now: starting up, shutting down, recovering.
		return pe.Code == "57P03"
	}
	return !errors.Is(err, os.ErrPermission)
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 120 {
		return s[i+2:]
	}
	return s
}

// dbInfo is what the module needs to know about an existing database.
type dbInfo struct {
	Exists  bool
	Owner   string
	Comment string
	// Create holds the CREATE DATABASE options that reproduce its
	// encoding and locale.
	Create string
	// Invalid: a DROP DATABASE has begun discarding it (datconnlimit -2);
	// it can only be dropped.
	Invalid bool
}

// lookupDB finds the database with exactly this name.
func lookupDB(ctx context.Context, conn *pgx.Conn, name string) (dbInfo, error) {
	var info dbInfo
	var row map[string]any
	var comment *string
	err := conn.QueryRow(ctx, `select pg_get_userbyid(d.datdba), shobj_description(d.oid, 'pg_database'),
			to_jsonb(d) - 'datacl' || jsonb_build_object('encoding', pg_encoding_to_char(d.encoding))
		from pg_database d where d.datname = $1`, name).Scan(&info.Owner, &comment, &row)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, nil
	}
	if err != nil {
		return info, fmt.Errorf("look up database %q: %w", name, err)
	}
	info.Exists = true
	if comment != nil {
		info.Comment = *comment
	}
	info.Create = localeOptions(row)
	if n, ok := row["datconnlimit"].(float64); ok && n == -2 {
		info.Invalid = true
	}
	return info, nil
}

// localeOptions renders the encoding and locale of a pg_database row (read
// as JSON, so that the columns of every server version are at hand) as
// CREATE DATABASE options.
func localeOptions(row map[string]any) string {
	str := func(k string) string { s, _ := row[k].(string); return s }
	var opts []string
	if v := str("encoding"); v != "" {
		opts = append(opts, "ENCODING "+literal(v))
	}
	if v := str("datcollate"); v != "" {
		opts = append(opts, "LC_COLLATE "+literal(v))
	}
	if v := str("datctype"); v != "" {
		opts = append(opts, "LC_CTYPE "+literal(v))
	}
	switch str("datlocprovider") {
	case "i":
		opts = append(opts, "LOCALE_PROVIDER icu")
		loc := str("daticulocale")
		if loc == "" {
			loc = str("datlocale")
		}
		if loc != "" {
			opts = append(opts, "ICU_LOCALE "+literal(loc))
		}
		if r := str("daticurules"); r != "" {
			opts = append(opts, "ICU_RULES "+literal(r))
		}
	case "b":
		opts = append(opts, "LOCALE_PROVIDER builtin")
		if loc := str("datlocale"); loc != "" {
			opts = append(opts, "BUILTIN_LOCALE "+literal(loc))
		}
	}
	return strings.Join(opts, " ")
}

// ident quotes a name with pgx's identifier quoting.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes s as an escape string constant, which reads the same
// whatever standard_conforming_strings is.
func literal(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, `'`, `''`) + "'"
}

// Advisory lock key space of this module; the second key is the server's
// hashtext of the database name.
const lockClass = 0x44797300 // "Dys\0"

// lockRestore takes the advisory lock of database db for this session,
// without waiting: exclusive for the activities that create, replace or drop
// it (activate, restore, collect-garbage), shared for those that must not run
// while it is replaced (snapshot, lock). ok is false when another session
// holds it in a conflicting mode. The lock ends with the session at the
// latest; holders release it with unlockRestore before they close the
// session, since the server drops a closed session's locks only when its
// backend has exited, which the client does not wait for (the next
// dysnomia process could otherwise find the lock still held).
func lockRestore(ctx context.Context, conn *pgx.Conn, db string, shared bool) (ok bool, err error) {
	fn := "pg_try_advisory_lock"
	if shared {
		fn += "_shared"
	}
	err = conn.QueryRow(ctx, "select "+fn+"($1::int4, hashtext($2))", lockClass, db).Scan(&ok)
	return ok, err
}

// unlockRestore releases the lock lockRestore took, even when ctx has been
// cancelled; if that fails, the session's end releases it.
func unlockRestore(ctx context.Context, conn *pgx.Conn, db string, shared bool) {
	fn := "pg_advisory_unlock"
	if shared {
		fn += "_shared"
	}
	conn.Exec(context.WithoutCancel(ctx), "select "+fn+"($1::int4, hashtext($2))", lockClass, db)
}

// terminate ends the other sessions connected to db.
func terminate(ctx context.Context, conn *pgx.Conn, db string) error {
	_, err := conn.Exec(ctx, "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", db)
	return err
}

// dropDatabase terminates db's sessions and drops it if it exists.
func dropDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = terminate(ctx, conn, db); err != nil {
			return err
		}
		if _, err = conn.Exec(ctx, "drop database if exists "+ident(db)); err == nil || !inUse(err) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// inUse reports SQLSTATE 55006 object_in_use: other sessions are connected.
func inUse(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55006"
}

// undefinedDB reports SQLSTATE 3D000 invalid_catalog_name: no such database.
func undefinedDB(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "3D000"
}
