package postgresql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Init scripts that are plain SQL run through the driver, on one connection
// to the new database, each script sent whole in one simple-protocol query
// (the server splits it into statements, as psql would have sent them one
// by one), all in one transaction: no psql process to start, no second
// login. A script is plain SQL when the scan below finds nothing that only
// psql understands, and is refused the driver conservatively otherwise, so
// that psql keeps running every script the driver could read differently:
//
//   - a backslash anywhere (a meta-command such as \set, \i or COPY data's
//     \. terminator; or an escape in a string, where the driver and psql
//     could disagree on where the string ends);
//   - a colon before a name or quote outside strings and comments (psql
//     variable interpolation, :name or :'name'; :: casts are fine);
//   - the words stdin or stdout outside strings and comments (COPY … FROM
//     STDIN needs psql to send the data that follows);
//   - a statement that starts with a transaction command (BEGIN, COMMIT,
//     ROLLBACK, END, ABORT, START, PREPARE) or COPY;
//   - a byte that is not 7-bit ASCII, or a NUL (psql sends the script in
//     the database's encoding, the driver in UTF-8).

// sqlScript is what the scan found out about one init script.
type sqlScript struct {
	needsPsql bool
	why       string
	// starts holds, for each statement, the line on which it starts, so
	// that an error can be placed when the server gives no position.
	starts []int
}

var psqlOnlyFirstWords = map[string]bool{
	"begin": true, "commit": true, "rollback": true, "end": true, "abort": true,
	"start": true, "prepare": true, "copy": true,
}

// scanSQL scans a script the way psql's lexer splits statements: quotes,
// double-quoted identifiers, dollar quotes, nested comments and
// parentheses (a semicolon inside them ends nothing).
func scanSQL(text []byte) sqlScript {
	var s sqlScript
	psql := func(why string) sqlScript { s.needsPsql, s.why = true, why; return s }
	for _, c := range text {
		switch {
		case c == 0 || c >= utf8.RuneSelf:
			return psql("bytes that are not 7-bit ASCII")
		case c == '\\':
			return psql("a backslash")
		}
	}
	line, depth, inStmt := 1, 0, false
	first := "" // first word of the current statement
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			line++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			continue
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			line++
			continue
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			nest := 0
			for ; i < len(text); i++ {
				switch {
				case text[i] == '\n':
					line++
				case text[i] == '/' && i+1 < len(text) && text[i+1] == '*':
					nest++
					i++
				case text[i] == '*' && i+1 < len(text) && text[i+1] == '/':
					nest--
					i++
				}
				if nest == 0 {
					break
				}
			}
			continue
		}
		if !inStmt {
			inStmt, first = true, ""
			s.starts = append(s.starts, line)
		}
		switch {
		case c == ';' && depth == 0:
			inStmt = false
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case c == '\'' || c == '"':
			// Without backslashes, a quote ends at the next single one;
			// doubled ones are part of it.
			for i++; i < len(text); i++ {
				if text[i] == '\n' {
					line++
				}
				if text[i] == c {
					if i+1 < len(text) && text[i+1] == c {
						i++
						continue
					}
					break
				}
			}
		case c == ':':
			if i+1 < len(text) && text[i+1] == ':' {
				i++
				continue
			}
			if i+1 < len(text) && (isIdentStart(text[i+1]) || text[i+1] == '\'' || text[i+1] == '"' || text[i+1] == '{') {
				return psql("a psql variable")
			}
		case c == '$' && (i == 0 || !isIdentChar(text[i-1])):
			j := i + 1
			for j < len(text) && isIdentChar(text[j]) && text[j] != '$' {
				j++
			}
			if j >= len(text) || text[j] != '$' || (j > i+1 && text[i+1] >= '0' && text[i+1] <= '9') {
				continue // a parameter such as $1, or a lone $
			}
			tag := text[i : j+1]
			end := bytes.Index(text[j+1:], tag)
			if end < 0 {
				end = len(text) - (j + 1)
			}
			line += bytes.Count(text[i:j+1+end], []byte{'\n'})
			i = j + end + len(tag)
		case isIdentStart(c):
			j := i
			for j < len(text) && isIdentChar(text[j]) {
				j++
			}
			word := strings.ToLower(string(text[i:j]))
			if first == "" {
				first = word
				if psqlOnlyFirstWords[word] {
					return psql("a statement starting with " + strings.ToUpper(word))
				}
			}
			if word == "stdin" || word == "stdout" {
				return psql("COPY with " + strings.ToUpper(word))
			}
			i = j - 1
		}
	}
	return s
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$' }

// readScripts reads the init scripts and tells whether all of them are
// plain SQL the driver can run.
func readScripts(scripts []string) (texts [][]byte, scans []sqlScript, direct bool, err error) {
	direct = true
	for _, f := range scripts {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, false, err
		}
		sc := scanSQL(data)
		direct = direct && !sc.needsPsql
		texts, scans = append(texts, data), append(scans, sc)
	}
	return texts, scans, direct, nil
}

// runScriptsDirect runs plain-SQL init scripts through the driver in one
// transaction on a new connection to the database, as the owner (SET
// ROLE), and removes the incomplete mark in the same transaction. A failing
// statement rolls everything back, and the error names the file and line.
func (ss *session) runScriptsDirect(ctx context.Context, req *module.Request, name string, scripts []string, texts [][]byte, scans []sqlScript) error {
	cfg, err := ss.config(name)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["client_min_messages"] = "warning"
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		notices = append(notices, n.Severity+":  "+n.Message)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("init scripts: connect to database %q: %w", name, err)
	}
	defer conn.Close(context.Background())
	pc := conn.PgConn()
	exec := func(sql string) (int, error) {
		results := 0
		mrr := pc.Exec(ctx, sql)
		for mrr.NextResult() {
			if _, err := mrr.ResultReader().Close(); err != nil {
				mrr.Close()
				return results, err
			}
			results++
		}
		return results, mrr.Close()
	}
	if _, err := exec("begin"); err != nil {
		return fmt.Errorf("init scripts: %w", err)
	}
	fail := func(err error) error {
		if !pc.IsClosed() {
			exec("rollback")
		}
		return err
	}
	if ss.Owner != ss.User {
		if _, err := exec("set local role " + ident(ss.Owner)); err != nil {
			return fail(fmt.Errorf("init scripts: set role %q: %w", ss.Owner, err))
		}
	}
	if len(scripts) > 0 {
		req.Report.Infof("running %d init script(s) of %s", len(scripts), name)
	}
	for i, f := range scripts {
		if len(scans[i].starts) == 0 {
			continue // only comments and blanks
		}
		done, err := exec(string(texts[i]))
		if err != nil {
			return fail(statementError(f, texts[i], scans[i], done, err))
		}
	}
	if _, err := exec(clearIncomplete()); err != nil {
		return fail(fmt.Errorf("init scripts: %w", err))
	}
	if _, err := exec("commit"); err != nil {
		return fmt.Errorf("init scripts: commit: %w", err)
	}
	if len(notices) > 0 {
		req.Report.Warnf("init scripts of %s: %s", name, strings.Join(notices, "\n"))
	}
	return nil
}

// clearIncomplete is the statement that ends a successful initialisation:
// it removes the incomplete mark from the database's comment.
func clearIncomplete() string {
	return fmt.Sprintf(`do $dysnomia$ begin
  if shobj_description((select oid from pg_database where datname = current_database()), 'pg_database') = %s then
    execute format('comment on database %%I is null', current_database());
  end if;
end $dysnomia$`, literal(incomplete))
}

// statementError names the file and line of a failed statement: the line
// of the position the server reports, else the start of the statement
// after the done ones that succeeded; and the server's message, detail and
// hint, as psql prints them.
func statementError(file string, text []byte, sc sqlScript, done int, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("init script %s: %w", file, err)
	}
	line := 0
	if pe.Position > 0 {
		line = 1 + strings.Count(firstRunes(string(text), int(pe.Position)-1), "\n")
	} else if done < len(sc.starts) {
		line = sc.starts[done]
	}
	msg := fmt.Sprintf("init script %s, line %d: %s: %s", file, line, pe.Severity, pe.Message)
	if line == 0 {
		msg = fmt.Sprintf("init script %s: %s: %s", file, pe.Severity, pe.Message)
	}
	if pe.Detail != "" {
		msg += "\nDETAIL:  " + pe.Detail
	}
	if pe.Hint != "" {
		msg += "\nHINT:  " + pe.Hint
	}
	return errors.New(msg)
}

// firstRunes is the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
