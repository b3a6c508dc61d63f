package mysql

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/tail"
)

// restore puts a snapshot back: load it into a temporary database, then
// swap it in (see swap). Until the swap the database is not touched, so a
// snapshot that fails to load leaves it as it was.
func restore(ctx context.Context, req *module.Request, s settings) error {
	name := req.Component.Name
	if err := checkName(name); err != nil {
		return err
	}
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("no snapshot of %s; nothing to restore", req.Key())
		return nil
	}
	// Verified while it loads into the work database; nothing is swapped
	// in unless it matched its checksum.
	payload, err := req.Store.ReadVerifying(ctx, sn)
	if err != nil {
		return err
	}
	defer payload.Verified()
	if !payload.Has(DumpFile) {
		return fmt.Errorf("snapshot %s holds no %s (it has: %s)", sn.Rel(), DumpFile, strings.Join(payload.Files(), ", "))
	}

	conn, release, err := lockComponent(ctx, s, req, name)
	if err != nil {
		return err
	}
	defer release()
	if err := dropWorkDatabases(ctx, conn, name, req); err != nil {
		return err
	}

	exists, err := databaseExists(ctx, conn, name)
	if err != nil {
		return err
	}
	charset, err := charsetClause(ctx, conn, name) // "" when it does not exist
	if err != nil {
		return err
	}
	tmp, aside := workName("restore", name), workName("replaced", name)
	// The work databases go whatever happens, even on cancellation.
	defer func() {
		bg := context.WithoutCancel(ctx)
		for _, w := range []string{tmp, aside} {
			if _, err := conn.ExecContext(bg, "DROP DATABASE IF EXISTS "+quoteIdent(w)); err != nil {
				req.Report.Warnf("could not drop work database %q: %v", w, err)
			}
		}
	}()
	for _, w := range []string{tmp, aside} {
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(w)+charset); err != nil {
			return fmt.Errorf("create work database %q: %w", w, err)
		}
	}

	req.Report.Infof("loading snapshot %s into work database %q", sn.Rel(), tmp)
	lerr := load(ctx, req, s, payload, tmp)
	if verr := payload.Verified(); verr != nil {
		lerr = verr // a damaged snapshot explains a failed load best
	}
	if lerr != nil {
		return fmt.Errorf("load snapshot %s (the database was not changed): %w", sn.Rel(), lerr)
	}
	if !exists {
		req.Report.Infof("database %q does not exist; creating it", name)
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)+charset); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	if err := swap(ctx, conn, name, tmp, aside); err != nil {
		return err
	}
	req.Report.Infof("restored database %q from snapshot %s", name, sn.Rel())
	return nil
}

// loader is what load needs of a store.Payload.
type loader interface {
	Open(name string) (io.ReadCloser, error)
}

// load feeds the dump to a client session whose default database is into.
func load(ctx context.Context, req *module.Request, s settings, payload loader, into string) error {
	r, err := payload.Open(DumpFile)
	if err != nil {
		return err
	}
	defer r.Close()
	c, err := newClient(req, s)
	if err != nil {
		return err
	}
	defer c.close()
	cmd, err := c.command(ctx, clientTool, "--batch", "--binary-mode", "--max-allowed-packet=1G", "--database="+into)
	if err != nil {
		return err
	}
	end := &tail.Reader{R: r, Keep: 4096}
	g := newGuardReader(end)
	err = run(cmd, g)
	if g.err != nil {
		return g.err // the client's complaint about the cut-off input is noise
	}
	// When the client stopped early on an error, the end was never read,
	// and its error is the one to report.
	if end.EOF() && !complete(end.LastLine()) {
		return &store.IntegrityError{Problems: []string{fmt.Sprintf(
			"the dump ends with %q, not with the dump tool's last statements: it was cut short, and loading it would restore only part of the database",
			truncate(end.LastLine(), 60))}}
	}
	return err
}

// workName names a temporary database of the module for the database name:
// dysnomia-<what>-<tag>-<random>, at most 64 characters.
func workName(what, name string) string {
	var b [4]byte
	rand.Read(b[:])
	return "dysnomia-" + what + "-" + tag(name) + "-" + hex.EncodeToString(b[:])
}

// dropWorkDatabases drops work databases left for name by a restore that
// was killed. The caller holds the component lock, so none is in use.
func dropWorkDatabases(ctx context.Context, q queryer, name string, req *module.Request) error {
	names, err := databases(ctx, q)
	if err != nil {
		return err
	}
	for _, n := range names {
		for _, what := range []string{"restore", "replaced"} {
			if strings.HasPrefix(n, "dysnomia-"+what+"-"+tag(name)+"-") {
				req.Report.Warnf("dropping work database %q left by an interrupted restore of %q", n, name)
				if _, err := q.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(n)); err != nil {
					return fmt.Errorf("drop work database %q: %w", n, err)
				}
			}
		}
	}
	return nil
}

var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// charsetClause returns " CHARACTER SET x COLLATE y" with the database's
// defaults, so that the work databases get them too.
func charsetClause(ctx context.Context, q queryer, name string) (string, error) {
	rows, err := q.QueryContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name)
	if err != nil {
		return "", fmt.Errorf("read the database's character set: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cs, coll string
		if err := rows.Scan(&cs, &coll); err != nil {
			return "", err
		}
		if charsetName.MatchString(cs) && charsetName.MatchString(coll) {
			return " CHARACTER SET " + cs + " COLLATE " + coll, nil
		}
	}
	return "", rows.Err()
}

// guardReader passes a dump through and stops it at a statement that would
// leave the work database: a dump made with --databases or
// --all-databases switches databases with USE and would overwrite the
// live database (or others) directly. It looks at the start of every line.
type guardReader struct {
	br      *bufio.Reader
	midLine bool // the data read so far ends inside a line
	line    int
	err     error
}

func newGuardReader(r io.Reader) *guardReader {
	return &guardReader{br: bufio.NewReaderSize(r, 1<<20)}
}

var switchers = [][]byte{[]byte("USE "), []byte("USE\t"), []byte("CREATE DATABASE"), []byte("DROP DATABASE"),
	[]byte("/*!40000 DROP DATABASE"), []byte("CREATE SCHEMA"), []byte("DROP SCHEMA")}

// headLen is enough of a line's start to compare it with every switcher.
const headLen = 24

func (g *guardReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.br.Buffered() < headLen {
		g.br.Peek(headLen) // top up; errors surface below
	}
	avail := g.br.Buffered()
	if avail == 0 {
		_, err := g.br.Peek(1)
		return 0, err
	}
	buf, _ := g.br.Peek(min(len(p), avail))
	n := 0
scan:
	for n < len(buf) {
		if !g.midLine {
			var head []byte
			switch {
			case n == 0:
				head, _ = g.br.Peek(min(avail, headLen))
			case len(buf)-n >= headLen:
				head = buf[n : n+headLen]
			}
			if head == nil {
				break scan // decide in the next Read, with more data at hand
			}
			g.line++
			if err := g.check(head); err != nil {
				g.err = err
				break
			}
			g.midLine = true
		}
		i := bytes.IndexByte(buf[n:], '\n')
		if i < 0 {
			n = len(buf)
			break
		}
		n += i + 1
		g.midLine = false
	}
	copy(p, buf[:n])
	g.br.Discard(n)
	if n == 0 && g.err != nil {
		return 0, g.err
	}
	return n, nil
}

func (g *guardReader) check(head []byte) error {
	for _, s := range switchers {
		if len(head) >= len(s) && bytes.EqualFold(head[:len(s)], s) {
			line := head
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			return fmt.Errorf("the dump changes databases at line %d (%q…): it was not made by this module or upstream's; refusing to load it", g.line, line)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// swap makes the tables of tmp the tables of target, in one RENAME TABLE
// statement: target's tables move to aside, tmp's to target. Views and
// triggers cannot move between databases: those of tmp are captured and
// dropped, those of target are dropped, and after the rename the captured
// ones are created in target. If any step fails, what was done is undone
// and target keeps its old tables, views and triggers.
func swap(ctx context.Context, conn dbConn, target, tmp, aside string) error {
	fresh, err := listObjects(ctx, conn, tmp)
	if err != nil {
		return err
	}
	old, err := listObjects(ctx, conn, target)
	if err != nil {
		return err
	}
	bg := context.WithoutCancel(ctx)
	// tmp is ours: its views and triggers go, they are re-created in target.
	if err := dropObjects(ctx, conn, tmp, fresh); err != nil {
		return err
	}
	if err := dropObjects(ctx, conn, target, old); err != nil {
		return rollback(bg, conn, target, old, err)
	}
	var pairs []string
	for _, t := range old.tables {
		pairs = append(pairs, qualified(target, t)+" TO "+qualified(aside, t))
	}
	for _, t := range fresh.tables {
		pairs = append(pairs, qualified(tmp, t)+" TO "+qualified(target, t))
	}
	if len(pairs) > 0 {
		if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
			return rollback(bg, conn, target, old, fmt.Errorf("swap tables: %w", err))
		}
	}
	if err := createObjects(ctx, conn, target, fresh); err != nil {
		// Put the old tables back, then their views and triggers.
		dropObjects(bg, conn, target, fresh)
		var back []string
		for _, t := range fresh.tables {
			back = append(back, qualified(target, t)+" TO "+qualified(tmp, t))
		}
		for _, t := range old.tables {
			back = append(back, qualified(aside, t)+" TO "+qualified(target, t))
		}
		if len(back) > 0 {
			if _, rerr := conn.ExecContext(bg, "RENAME TABLE "+strings.Join(back, ", ")); rerr != nil {
				return fmt.Errorf("%w; putting the old tables back failed too: %v (they are in database %q)", err, rerr, aside)
			}
		}
		return rollback(bg, conn, target, old, err)
	}
	return nil
}

// rollback re-creates target's old views and triggers after a failed swap.
func rollback(ctx context.Context, conn dbConn, target string, old objects, cause error) error {
	if err := createObjects(ctx, conn, target, old); err != nil {
		return fmt.Errorf("%w; re-creating the old views and triggers failed too: %v", cause, err)
	}
	return fmt.Errorf("%w (the database was not changed)", cause)
}

func qualified(db, name string) string { return quoteIdent(db) + "." + quoteIdent(name) }
