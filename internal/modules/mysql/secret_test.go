package mysql

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// sqlString quotes s as a MariaDB string literal (for the test's own
// CREATE USER, which takes no placeholders).
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// newAccount creates a password-protected account with rights on name and
// on the module's work databases, and returns its password, which holds
// every character an option file or a shell treats specially.
func newAccount(t *testing.T, e *env, user string) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	pw := `p"w'\ #;$x` + "\t" + hex.EncodeToString(b[:]) + " "
	e.srv.Exec(t, "CREATE USER "+sqlString(user)+"@'localhost' IDENTIFIED BY "+sqlString(pw))
	t.Cleanup(func() { e.srv.DB().Exec("DROP USER IF EXISTS " + sqlString(user) + "@'localhost'") })
	e.srv.Exec(t, "GRANT ALL ON "+quoteIdent(e.name)+".* TO "+sqlString(user)+"@'localhost'")
	e.srv.Exec(t, "GRANT ALL ON `dysnomia-%`.* TO "+sqlString(user)+"@'localhost'")
	return pw
}

// procScanner reads the command line and environment of every process
// over and over while activities run.
type procScanner struct {
	secret []byte
	stop   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	leaks     []string // "pid 12 cmdline: …"
	toolsSeen int      // command lines of the tools, seen while running
	scans     int
}

func startScanner(secret string) *procScanner {
	p := &procScanner{secret: []byte(secret), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			p.scan()
		}
	}()
	return p
}

func (p *procScanner) scan() {
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range pids {
		cmdline, err := os.ReadFile(dir + "/cmdline")
		if err != nil {
			continue
		}
		environ, _ := os.ReadFile(dir + "/environ")
		p.mu.Lock()
		if bytes.Contains(cmdline, p.secret) {
			p.leaks = append(p.leaks, dir+" cmdline: "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
		if bytes.Contains(cmdline, []byte("--defaults-extra-file=")) {
			p.toolsSeen++
			if bytes.Contains(environ, p.secret) {
				p.leaks = append(p.leaks, dir+" environ of "+strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.scans++
	p.mu.Unlock()
}

func (p *procScanner) finish() {
	close(p.stop)
	p.wg.Wait()
}

func TestPasswordFileNeverVisible(t *testing.T) {
	e := newEnv(t, "pw-db", richScripts)
	pw := newAccount(t, e, "dysapp")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the option files go
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.set("mysqlUsername", "dysapp")

	// Without the password the account is refused: the password matters.
	if err := e.run(module.Activate); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("activate without a password: %v; want access denied", err)
	}

	e.set("mysqlPasswordFile", pwFile)
	scanner := startScanner(pw)
	e.must(module.Activate)
	fillRich(e)
	e.must(module.Snapshot)
	e.exec("DELETE FROM $db.child")
	e.must(module.Restore)
	scanner.finish()

	if len(scanner.leaks) > 0 {
		t.Errorf("the password was visible in the process list:\n%s", strings.Join(scanner.leaks, "\n"))
	}
	if scanner.toolsSeen == 0 {
		t.Errorf("the scanner never saw a client tool running (%d scans): it proves nothing", scanner.scans)
	}
	t.Logf("%d scans saw the client tools %d times", scanner.scans, scanner.toolsSeen)
	if got := e.rows("SELECT COUNT(*) FROM $db.child"); got[0][0] != "3" {
		t.Errorf("restore as the password account: %v rows, want 3", got)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("option files left in TMPDIR: %v", entries)
	}
	// Neither the state directory nor the reports hold the password.
	filepath.WalkDir(e.store.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(pw)) {
				t.Errorf("%s holds the password", p)
			}
		}
		return nil
	})
	for _, line := range append(e.report.infos, e.report.warns...) {
		if strings.Contains(line, pw) {
			t.Errorf("report holds the password: %q", line)
		}
	}
}

// The upstream property mysqlPassword works, with a warning, and does not
// reach the tools' environment.
func TestInlinePasswordWarns(t *testing.T) {
	e := newEnv(t, "pw-inline", helloScripts)
	pw := newAccount(t, e, "dysinline")
	e.set("mysqlUsername", "dysinline")
	e.set("mysqlPassword", pw)
	scanner := startScanner(pw)
	e.must(module.Activate)
	e.must(module.Snapshot)
	scanner.finish()
	if len(scanner.leaks) > 0 {
		t.Errorf("the password was visible:\n%s", strings.Join(scanner.leaks, "\n"))
	}
	if scanner.toolsSeen == 0 {
		t.Errorf("the scanner never saw a client tool running: it proves nothing")
	}
	w := e.report.warnings()
	if len(w) == 0 || !strings.Contains(w[0], "mysqlPasswordFile") {
		t.Errorf("warnings = %q; want advice to use mysqlPasswordFile", w)
	}
	if got := e.rows("SELECT COUNT(*) FROM $db.test"); got[0][0] != "2" {
		t.Errorf("rows = %v", got)
	}
}

func TestOptionValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b`, `"a\"b"`},
		{`back\slash`, `"back\\slash"`},
		{"tab\there", `"tab\there"`},
		{"# not a comment ", `"# not a comment "`},
	} {
		if got := optionValue(tc.in); got != tc.want {
			t.Errorf("optionValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
