package mysql

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// DefaultSocket is where Debian and NixOS put the server's socket.
const DefaultSocket = "/run/mysqld/mysqld.sock"

// settings are the connection parameters taken from the container
// properties.
type settings struct {
	user     string
	password string // "" when the account has none (socket authentication)
	socket   string
	binDir   string // where the client tools are; "" for the module's PATH
	timeout  time.Duration
}

// settingsOf reads the container properties of req.
func settingsOf(req *module.Request) (settings, error) {
	s := settings{
		user:    req.Property("mysqlUsername", ""),
		socket:  req.Property("mysqlSocket", DefaultSocket),
		binDir:  req.Property("mysqlBinDir", ""),
		timeout: 10 * time.Second,
	}
	if s.user == "" {
		s.user = loginName()
	}
	if v := req.Property("timeout", ""); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return s, fmt.Errorf("property timeout: %q is not a number of seconds", v)
		}
		s.timeout = time.Duration(n) * time.Second
	}
	file := req.Property("mysqlPasswordFile", "")
	inline := req.Container.Properties.Lookup("mysqlPassword")
	switch {
	case file != "":
		pw, err := readPasswordFile(file)
		if err != nil {
			return s, err
		}
		s.password = pw
		if inline != "" {
			req.Report.Warnf("%s: mysqlPassword is ignored because mysqlPasswordFile is set; remove it from the container configuration", req.Container.Name)
		}
	case inline != "":
		s.password = inline
		req.Report.Warnf("%s: property mysqlPassword puts the password in the container configuration or the environment; use mysqlPasswordFile instead", req.Container.Name)
	}
	return s, nil
}

// readPasswordFile reads a password file: its content without one trailing
// line break. The file must hold a single line.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("property mysqlPasswordFile: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if strings.ContainsAny(pw, "\n\x00") {
		return "", fmt.Errorf("property mysqlPasswordFile: %s holds more than one line", path)
	}
	return pw, nil
}

// loginName is the account the mariadb client uses when none is given: the
// name of the user running this process.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return os.Getenv("USER")
}
