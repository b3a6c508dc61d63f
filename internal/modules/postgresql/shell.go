package postgresql

import (
	"fmt"
	"strconv"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellEnv implements module.ShellEnviron: psql in the session connects to
// the component's database.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := loadSettings(req)
	if err != nil {
		return nil, err
	}
	env := []string{
		"PGHOST=" + s.host(),
		"PGPORT=" + strconv.Itoa(s.Port),
		"PGUSER=" + s.User,
		"PGDATABASE=" + req.Component.Name,
	}
	return env, nil
}

func shellHelp(req *module.Request) {
	fmt.Fprintf(req.Stderr, `PostgreSQL database %[1]q (container %[2]s).
PGHOST, PGPORT, PGUSER and PGDATABASE are set, so psql opens it:
  psql
With peer authentication, run it as the OS user of the database role:
  runuser -u "$PGUSER" -- psql
Dump it by hand with: runuser -u "$PGUSER" -- pg_dump -Fc > %[1]s.pgdump
`, req.Component.Name, req.Container.Name)
}
