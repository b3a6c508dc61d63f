package ejabberd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
)

// Defaults of the properties.
const (
	DefaultUser     = "ejabberd"
	DefaultSpoolDir = "/var/lib/ejabberd"
	DefaultTimeout  = 10 // seconds
)

// settings are a request's properties, checked.
type settings struct {
	user     *program.User // ejabberdUser
	ctl      string        // the ejabberdctl program
	ctlArgs  []string      // its options before the command
	spoolDir string
	timeout  time.Duration
	env      []string
}

// ctlOptions maps properties to ejabberdctl's options.
var ctlOptions = []struct{ key, flag string }{
	{"ejabberdConfigDir", "--config-dir"},
	{"ejabberdConfig", "--config"},
	{"ejabberdctlConfig", "--ctl-config"},
	{"ejabberdSpoolDir", "--spool"},
	{"ejabberdLogsDir", "--logs"},
	{"ejabberdNode", "--node"},
}

// settingsOf reads and checks the container properties of req. Every
// error names the property.
func settingsOf(req *module.Request) (*settings, error) {
	bad := func(key, why string) error {
		return fmt.Errorf("container %s: property %s=%q: %s", req.Container.Name, key, req.Property(key, ""), why)
	}
	s := &settings{spoolDir: req.Property("ejabberdSpoolDir", DefaultSpoolDir), env: req.Env}
	name := req.Property("ejabberdUser", DefaultUser)
	u, err := program.LookupUser(name)
	if err != nil {
		return nil, bad("ejabberdUser", err.Error())
	}
	if !u.Switches() && !u.Is() {
		return nil, bad("ejabberdUser", fmt.Sprintf("ejabberdctl runs as that user, which needs root (dysnomia runs as uid %d)", os.Geteuid()))
	}
	s.user = u
	for _, o := range ctlOptions {
		v := req.Property(o.key, "")
		if v == "" {
			continue
		}
		if o.key != "ejabberdNode" && !filepath.IsAbs(v) {
			return nil, bad(o.key, "want an absolute path")
		}
		if strings.ContainsAny(v, "\n\x00") {
			return nil, bad(o.key, "contains a line break")
		}
		s.ctlArgs = append(s.ctlArgs, o.flag, v)
	}
	if !filepath.IsAbs(s.spoolDir) {
		return nil, bad("ejabberdSpoolDir", "want an absolute path")
	}
	secs := DefaultTimeout
	if v := req.Property("timeout", ""); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 24*3600 {
			return nil, bad("timeout", "want an integer from 1 to 86400")
		}
		secs = n
	}
	s.timeout = time.Duration(secs) * time.Second
	if p := req.Property("ejabberdctl", ""); p != "" {
		if !filepath.IsAbs(p) {
			return nil, bad("ejabberdctl", "want an absolute path")
		}
		s.ctl = p
	} else if s.ctl, err = program.Find(req.Env, "ejabberdctl"); err != nil {
		return nil, fmt.Errorf("%w (set the container property ejabberdctl to its path)", err)
	}
	return s, nil
}
