package sqlite

import (
	"fmt"
	"os/exec"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellEnv implements module.ShellEnviron: SQLITE_DATABASE is the path of the
// component's database file.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := readSettings(req)
	if err != nil {
		return nil, fmt.Errorf("shell for sqlite database %q: %w", req.Component.Name, err)
	}
	return []string{"SQLITE_DATABASE=" + s.path(req.Component.Name)}, nil
}

// shellHelp tells the user, on stderr, how to reach the database.
func shellHelp(req *module.Request) error {
	s, err := readSettings(req)
	if err != nil {
		return err
	}
	path := s.path(req.Component.Name)
	fmt.Fprintf(req.Stderr, "sqlite-database: the database of %s is %s, in $SQLITE_DATABASE.\n", req.Component.Name, path)
	if _, err := exec.LookPath("sqlite3"); err == nil {
		fmt.Fprintln(req.Stderr, `  open it with: sqlite3 "$SQLITE_DATABASE"`)
	} else {
		fmt.Fprintln(req.Stderr, `  install the sqlite3 command-line tool, then: sqlite3 "$SQLITE_DATABASE"`)
	}
	return nil
}
