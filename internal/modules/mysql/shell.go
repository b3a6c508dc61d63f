package mysql

import (
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// shellHelp tells the user of a shell session how to reach the database.
func shellHelp(req *module.Request) error {
	socket := req.Property("mysqlSocket", DefaultSocket)
	user := req.Property("mysqlUsername", loginName())
	fmt.Fprintf(req.Stderr, "MariaDB database %q on socket %s.\n", req.Component.Name, socket)
	fmt.Fprintf(req.Stderr, "Connect with:\n  mariadb --socket=%s --user=%s %s\n", shellQuote(socket), shellQuote(user), shellQuote(req.Component.Name))
	switch {
	case req.Property("mysqlPasswordFile", "") != "":
		fmt.Fprintf(req.Stderr, "and add --password to type the password kept in %s.\n", req.Property("mysqlPasswordFile", ""))
	case req.Container.Properties.Lookup("mysqlPassword") != "":
		fmt.Fprintf(req.Stderr, "and add --password to type the password (property mysqlPassword).\n")
	}
	return nil
}

// ShellEnv implements module.ShellEnviron: MYSQL_UNIX_PORT names the socket
// for the mariadb client (an option file that sets the socket, such as
// Debian's /etc/mysql/my.cnf, takes precedence; the help shows the full
// command). The password is not exported: the session's environment would
// show it to anything the session runs.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	return []string{"MYSQL_UNIX_PORT=" + req.Property("mysqlSocket", DefaultSocket)}, nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r == '/' || r == '@' || r == ':' || r == '+' || r == '=' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	if s == "" {
		return "''"
	}
	return s
}
