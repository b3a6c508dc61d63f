package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// dbConn is one server session (a *sql.Conn): statements such as USE and
// SET last for the following ones.
type dbConn = queryer

// objects are the things of a database a restore moves: tables (anything
// RENAME TABLE moves: base tables, sequences), views and triggers, with the
// statements that re-create the views and triggers.
type objects struct {
	tables   []string
	views    []view
	triggers []trigger
}

type view struct{ name, create string }

type trigger struct{ name, sqlMode, create string }

// listObjects reads db's tables, views and triggers. The view and trigger
// statements are read with db as the default database, so that their
// references to db's tables are unqualified and bind to whatever database
// they are later created in.
func listObjects(ctx context.Context, conn dbConn, db string) (objects, error) {
	var o objects
	rows, err := queryStrings(ctx, conn, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", db)
	if err != nil {
		return o, fmt.Errorf("list tables of %q: %w", db, err)
	}
	if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(db)); err != nil {
		return o, fmt.Errorf("use %q: %w", db, err)
	}
	for _, r := range rows {
		if r[1] != "VIEW" {
			o.tables = append(o.tables, r[0])
			continue
		}
		v, err := queryStrings(ctx, conn, "SHOW CREATE VIEW "+quoteIdent(r[0]))
		if err != nil || len(v) != 1 || len(v[0]) < 2 {
			return o, fmt.Errorf("read view %q of %q: %v", r[0], db, err)
		}
		o.views = append(o.views, view{name: r[0], create: v[0][1]})
	}
	trs, err := queryStrings(ctx, conn, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER", db)
	if err != nil {
		return o, fmt.Errorf("list triggers of %q: %w", db, err)
	}
	for _, r := range trs {
		t, err := queryStrings(ctx, conn, "SHOW CREATE TRIGGER "+quoteIdent(r[0]))
		if err != nil || len(t) != 1 || len(t[0]) < 3 {
			return o, fmt.Errorf("read trigger %q of %q: %v", r[0], db, err)
		}
		o.triggers = append(o.triggers, trigger{name: r[0], sqlMode: t[0][1], create: t[0][2]})
	}
	return o, nil
}

// dropObjects drops the views and triggers of o from db.
func dropObjects(ctx context.Context, conn dbConn, db string, o objects) error {
	for _, t := range o.triggers {
		if _, err := conn.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+qualified(db, t.name)); err != nil {
			return fmt.Errorf("drop trigger %q of %q: %w", t.name, db, err)
		}
	}
	for _, v := range o.views {
		if _, err := conn.ExecContext(ctx, "DROP VIEW IF EXISTS "+qualified(db, v.name)); err != nil {
			return fmt.Errorf("drop view %q of %q: %w", v.name, db, err)
		}
	}
	return nil
}

// createObjects creates (or replaces) the views and triggers of o in db.
// Views may depend on each other; they are created in rounds until all
// exist, so their order does not matter.
func createObjects(ctx context.Context, conn dbConn, db string, o objects) error {
	if len(o.views) == 0 && len(o.triggers) == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(db)); err != nil {
		return fmt.Errorf("use %q: %w", db, err)
	}
	todo := o.views
	for len(todo) > 0 {
		var again []view
		var errs []error
		for _, v := range todo {
			if _, err := conn.ExecContext(ctx, orReplace(v.create)); err != nil {
				again = append(again, v)
				errs = append(errs, fmt.Errorf("create view %q in %q: %w", v.name, db, err))
			}
		}
		if len(again) == len(todo) {
			return errors.Join(errs...)
		}
		todo = again
	}
	if len(o.triggers) == 0 {
		return nil
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_mode = ?", mode)
	for _, t := range o.triggers {
		if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", t.sqlMode); err != nil {
			return fmt.Errorf("create trigger %q in %q: %w", t.name, db, err)
		}
		if _, err := conn.ExecContext(ctx, orReplace(t.create)); err != nil {
			return fmt.Errorf("create trigger %q in %q: %w", t.name, db, err)
		}
	}
	return nil
}

// orReplace turns "CREATE …" into "CREATE OR REPLACE …".
func orReplace(stmt string) string {
	const c = "CREATE "
	if len(stmt) < len(c) || !strings.EqualFold(stmt[:len(c)], c) ||
		strings.HasPrefix(strings.ToUpper(stmt[len(c):]), "OR REPLACE ") {
		return stmt
	}
	return stmt[:len(c)] + "OR REPLACE " + stmt[len(c):]
}

// queryStrings runs a query and returns its rows as strings (NULL as "").
func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([][]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
