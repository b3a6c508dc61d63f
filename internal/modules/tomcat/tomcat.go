// Package tomcat is the tomcat-webapplication and axis2-webservice
// modules: Java web applications (WAR files) and Axis2 web services (AAR
// files) that a running Tomcat deploys by itself when they appear in its
// deployment directory (hot deployment), and undeploys when they go.
//
// Container properties:
//
//	catalinaBaseDir   Tomcat's base directory (default /var/tomcat)
//	axis2BaseDir      axis2-webservice only: the directory Axis2 deploys
//	                  services from (default
//	                  <catalinaBaseDir>/webapps/axis2/WEB-INF/services)
//	timeout           seconds to wait for the deployment directory to
//	                  appear (default 10; axis2-webservice: 30)
//
// A component holds its archives anywhere below webapps/ (*.war) or below
// webapps/axis2/WEB-INF/services/ (*.aar), and optionally context files in
// conf/Catalina/.
//
// Activities:
//
//   - activate: wait until the deployment directory (<catalinaBaseDir>/webapps,
//     or axis2BaseDir) exists, checking at once and then once a second for
//     timeout seconds in all (something there that is not a directory is an
//     error at once); then link each archive into it under its base name,
//     and each conf/Catalina entry into
//     <catalinaBaseDir>/conf/Catalina/localhost. A link of the same name
//     (an earlier version) is replaced, anything that is not a symlink is
//     an error and left alone; on an error the links made are put back as
//     they were. Two archives with the same base name are an error before
//     anything changes. Then the component is marked active.
//   - deactivate: remove the links in those directories that point into the
//     component, and nothing else (Tomcat undeploys the application); unmark
//     it. This works after the component itself is gone.
//   - lock, unlock, snapshot, restore, collect-garbage: nothing; the
//     modules are stateless.
//   - shell: the session gets catalinaBaseDir (and axis2BaseDir).
package tomcat

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module and module.ShellEnviron for one of the
// two kinds.
type Module struct {
	kind *kind
}

// kind is what differs between the two modules.
type kind struct {
	name           string
	description    string
	archives       string // the component's directory of archives
	suffix         string // the archives' file name suffix
	defaultTimeout int    // seconds
}

// The modules.
var (
	WebApplication = Module{&kind{name: "tomcat-webapplication", description: "Tomcat web application", archives: "webapps", suffix: ".war", defaultTimeout: 10}}
	Axis2Service   = Module{&kind{name: "axis2-webservice", description: "Axis2 web service", archives: "webapps/axis2/WEB-INF/services", suffix: ".aar", defaultTimeout: 30}}
)

// DefaultCatalinaBase is catalinaBaseDir's default.
const DefaultCatalinaBase = "/var/tomcat"

// settings are the container properties, read once per request.
type settings struct {
	catalinaBase string
	deployDir    string // where the archives are linked
	timeout      time.Duration
}

// confDir is where the context files are linked.
func (s *settings) confDir() string {
	return filepath.Join(s.catalinaBase, "conf", "Catalina", "localhost")
}

func (m Module) settings(req *module.Request) (*settings, error) {
	bad := func(key, v, want string) error {
		return fmt.Errorf("container %s: property %s=%q: %s", req.Container.Name, key, v, want)
	}
	s := &settings{catalinaBase: req.Property("catalinaBaseDir", DefaultCatalinaBase)}
	if !filepath.IsAbs(s.catalinaBase) {
		return nil, bad("catalinaBaseDir", s.catalinaBase, "want an absolute path")
	}
	s.catalinaBase = filepath.Clean(s.catalinaBase)
	s.deployDir = filepath.Join(s.catalinaBase, "webapps")
	if m.kind == Axis2Service.kind {
		s.deployDir = req.Property("axis2BaseDir", filepath.Join(s.catalinaBase, "webapps", "axis2", "WEB-INF", "services"))
		if !filepath.IsAbs(s.deployDir) {
			return nil, bad("axis2BaseDir", s.deployDir, "want an absolute path")
		}
		s.deployDir = filepath.Clean(s.deployDir)
	}
	secs := m.kind.defaultTimeout
	if v := req.Property("timeout", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 24*3600 {
			return nil, bad("timeout", v, "want a whole number of seconds")
		}
		secs = n
	}
	s.timeout = time.Duration(secs) * time.Second
	return s, nil
}

// Run implements module.Module.
func (m Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.Shell:
	default:
		return nil
	}
	s, err := m.settings(req)
	if err != nil {
		return err
	}
	switch req.Activity {
	case module.Activate:
		err = m.activate(ctx, req, s)
	case module.Deactivate:
		err = m.deactivate(req, s)
	case module.Shell:
		fmt.Fprintf(req.Stderr, "This is a shell session for the %s %s, deployed in %s.\n", m.kind.description, req.Component.Name, s.deployDir)
	}
	if err != nil {
		return fmt.Errorf("%s %s %q: %w", req.Activity, m.kind.description, req.Component.Name, err)
	}
	return nil
}

// ShellEnv implements module.ShellEnviron.
func (m Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := m.settings(req)
	if err != nil {
		return nil, err
	}
	env := []string{"catalinaBaseDir=" + s.catalinaBase}
	if m.kind == Axis2Service.kind {
		env = append(env, "axis2BaseDir="+s.deployDir)
	}
	return env, nil
}

// Name is the type the module is registered as.
func (m Module) Name() string { return m.kind.name }
