package subversion

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// workDirName is the directory in svnBaseDir holding the module's lock
// files and work repositories.
const workDirName = ".dysnomia"

// settings are a request's properties, checked.
type settings struct {
	baseDir string
	gid     int    // svnGroup's id, or -1 when unset
	group   string // svnGroup as given
	repo    string // <baseDir>/<comp>
	work    string // <baseDir>/.dysnomia/<comp>
	env     []string
}

// settingsOf reads and checks the container properties of req and the
// component name.
func settingsOf(req *module.Request) (*settings, error) {
	name := req.Component.Name
	if err := store.ValidSegment(name); err != nil {
		return nil, fmt.Errorf("component name: %w", err)
	}
	if name == workDirName {
		return nil, fmt.Errorf("component name %q is reserved for the module's work files", name)
	}
	s := &settings{baseDir: req.Property("svnBaseDir", ""), gid: -1, env: toolEnv(req.Env)}
	switch {
	case s.baseDir == "":
		return nil, fmt.Errorf("container %s: property svnBaseDir is not set (the directory holding the repositories)", req.Container.Name)
	case !filepath.IsAbs(s.baseDir):
		return nil, fmt.Errorf("container %s: property svnBaseDir=%q: want an absolute directory", req.Container.Name, s.baseDir)
	}
	s.baseDir = filepath.Clean(s.baseDir)
	if s.group = req.Property("svnGroup", ""); s.group != "" {
		gid, err := lookupGroup(s.group)
		if err != nil {
			return nil, fmt.Errorf("container %s: property svnGroup=%q: %w", req.Container.Name, s.group, err)
		}
		s.gid = gid
	}
	s.repo = filepath.Join(s.baseDir, name)
	s.work = filepath.Join(s.baseDir, workDirName, name)
	return s, nil
}

// lookupGroup finds a group by name, or by number.
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			g, err = user.LookupGroupId(name)
		}
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

// tool finds svnadmin or svnlook on the module's PATH.
func (s *settings) tool(name string) (string, error) {
	p, err := program.Find(s.env, name)
	if err != nil {
		return "", fmt.Errorf("%w (install Subversion, or put its bin directory on PATH)", err)
	}
	return p, nil
}

// isRepo reports whether dir is a Subversion repository: it has a format
// file and a db directory. A missing dir is not one; anything else at that
// path is an error.
func isRepo(dir string) (bool, error) {
	fi, err := os.Lstat(dir)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return false, fmt.Errorf("%s is a symbolic link; point svnBaseDir at the directory holding the repository instead", dir)
	}
	if fi.IsDir() {
		f, ferr := os.Stat(filepath.Join(dir, "format"))
		d, derr := os.Stat(filepath.Join(dir, "db"))
		if ferr == nil && derr == nil && f.Mode().IsRegular() && d.IsDir() {
			return true, nil
		}
	}
	return false, fmt.Errorf("%s exists and is not a Subversion repository; move it away or choose another svnBaseDir", dir)
}

// toolEnv is the module's environment for svnadmin and svnlook, with
// LC_ALL=C.UTF-8: Subversion converts paths from the locale's encoding to
// UTF-8, and in the C locale a non-ASCII name would not convert (C.UTF-8 is
// built into glibc since 2.35). Messages are in English.
func toolEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "LC_ALL=") {
			out = append(out, kv)
		}
	}
	return append(out, "LC_ALL=C.UTF-8")
}
