package postgresql

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// settings are a container's properties, checked and with defaults applied.
type settings struct {
	User         string        // postgresqlUsername: database role and OS user
	Port         int           // postgresqlPort
	RuntimeDir   string        // postgresqlRuntimeDir: the socket directory
	Host         string        // postgresqlHost: a TCP host, or a socket directory when absolute
	PasswordFile string        // postgresqlPasswordFile
	Password     string        // read from PasswordFile; never logged
	Timeout      time.Duration // timeout: how long to wait for the server
	Owner        string        // postgresqlOwner: owner of created databases
	Encoding     string        // postgresqlEncoding
	Template     string        // postgresqlTemplate
	BinDir       string        // postgresqlBinDir
	RestoreJobs  int           // postgresqlRestoreJobs
	// RestoreMemory is postgresqlRestoreMemory: maintenance_work_mem of
	// the load.
	RestoreMemory string
}

// Defaults of the properties.
const (
	DefaultUser       = "postgres"
	DefaultPort       = 5432
	DefaultRuntimeDir = "/run/postgresql"
	DefaultTimeout    = 10 // seconds, as upstream
	// DefaultRestoreMemory is the default of postgresqlRestoreMemory.
	DefaultRestoreMemory = "256MB"
)

var memorySize = regexp.MustCompile(`^[1-9][0-9]*(kB|MB|GB)$`)

var encodingName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// loadSettings reads the container properties of req. Every error names
// the property.
func loadSettings(req *module.Request) (*settings, error) {
	s := &settings{
		User:          req.Property("postgresqlUsername", DefaultUser),
		RuntimeDir:    req.Property("postgresqlRuntimeDir", DefaultRuntimeDir),
		Host:          req.Property("postgresqlHost", ""),
		PasswordFile:  req.Property("postgresqlPasswordFile", ""),
		Encoding:      req.Property("postgresqlEncoding", ""),
		Template:      req.Property("postgresqlTemplate", ""),
		BinDir:        req.Property("postgresqlBinDir", ""),
		RestoreMemory: req.Property("postgresqlRestoreMemory", DefaultRestoreMemory),
	}
	s.Owner = req.Property("postgresqlOwner", s.User)
	bad := func(key, val, why string) error {
		return fmt.Errorf("container %s: property %s=%q: %s", req.Container.Name, key, val, why)
	}
	var err error
	if s.Port, err = intProperty(req, "postgresqlPort", DefaultPort, 1, 65535); err != nil {
		return nil, bad("postgresqlPort", req.Property("postgresqlPort", ""), err.Error())
	}
	secs, err := intProperty(req, "timeout", DefaultTimeout, 0, 24*3600)
	if err != nil {
		return nil, bad("timeout", req.Property("timeout", ""), err.Error())
	}
	s.Timeout = time.Duration(secs) * time.Second
	if s.RestoreJobs, err = intProperty(req, "postgresqlRestoreJobs", 1, 1, 256); err != nil {
		return nil, bad("postgresqlRestoreJobs", req.Property("postgresqlRestoreJobs", ""), err.Error())
	}
	if s.RestoreMemory == "default" {
		s.RestoreMemory = ""
	} else if !memorySize.MatchString(s.RestoreMemory) {
		return nil, bad("postgresqlRestoreMemory", s.RestoreMemory, "want a size such as 256MB or 1GB (kB, MB or GB), or default for the server's setting")
	}
	if !filepath.IsAbs(s.RuntimeDir) {
		return nil, bad("postgresqlRuntimeDir", s.RuntimeDir, "want an absolute directory")
	}
	if s.Encoding != "" && !encodingName.MatchString(s.Encoding) {
		return nil, bad("postgresqlEncoding", s.Encoding, "want an encoding name such as UTF8")
	}
	for key, v := range map[string]string{"postgresqlUsername": s.User, "postgresqlOwner": s.Owner, "postgresqlTemplate": s.Template} {
		if strings.ContainsRune(v, 0) || len(v) > 63 {
			return nil, bad(key, v, "not a PostgreSQL name (at most 63 bytes, no NUL)")
		}
	}
	if s.PasswordFile != "" {
		data, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("container %s: property postgresqlPasswordFile: %w", req.Container.Name, err)
		}
		s.Password = strings.TrimRight(string(data), "\r\n")
		if s.Password == "" || strings.ContainsAny(s.Password, "\x00\n") {
			return nil, fmt.Errorf("container %s: property postgresqlPasswordFile: %s must hold one line with the password", req.Container.Name, s.PasswordFile)
		}
	}
	return s, nil
}

func intProperty(req *module.Request, key string, def, min, max int) (int, error) {
	v := req.Property(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("want an integer from %d to %d", min, max)
	}
	return n, nil
}

// socketDir is the Unix socket directory, or "" for TCP.
func (s *settings) socketDir() string {
	switch {
	case s.Host == "":
		return s.RuntimeDir
	case filepath.IsAbs(s.Host):
		return s.Host
	}
	return ""
}

// host is what libpq and pgx take as host: the socket directory or the TCP
// host name.
func (s *settings) host() string {
	if d := s.socketDir(); d != "" {
		return d
	}
	return s.Host
}

// where describes the server for messages.
func (s *settings) where() string {
	if d := s.socketDir(); d != "" {
		return fmt.Sprintf("%s/.s.PGSQL.%d", d, s.Port)
	}
	return fmt.Sprintf("%s:%d", s.Host, s.Port)
}
