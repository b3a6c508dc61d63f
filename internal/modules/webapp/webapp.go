// Package webapp is the generic-webapplication module and its thin
// wrappers apache-webapplication and nginx-webapplication (the same module
// under another name and description): a web application is a set of
// files a web server serves from its document root.
//
// Container properties:
//
//	documentRoot   the web server's document root (default /var/www); it is
//	               created when missing
//	filesetOwner   only for a fileset component: see package fileset
//
// A component is one of two kinds:
//
//   - A component with a .dysnomia-fileset file is a fileset (package
//     fileset) whose target directory is the document root: every activity
//     is the fileset module's, run in this process, so its mutable
//     directories are state that snapshot, restore and collect-garbage
//     handle, kept in the store under this container's name.
//   - Any other component holds a webapps/ directory; each of its entries
//     is linked into the document root under its own name (a symlink to
//     <component>/webapps/<name>). Activate replaces a link of the same
//     name (the previous version of the application) but never a file or
//     directory that is not a symlink, and undoes its links when one
//     fails; deactivate removes exactly the links in the document root
//     that point into this component, so an upgraded version's links and
//     anything else there stay. Such a component is stateless: activate
//     marks it active, deactivate unmarks it; snapshot, restore and
//     collect-garbage have nothing to do.
//
// lock and unlock do nothing. The shell session gets documentRoot.
package webapp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module implements module.Module and module.ShellEnviron.
type Module struct {
	Name        string // the type it is registered as
	Description string // what a component is, in messages: "Apache web application"
}

// The registered types.
var (
	Generic = Module{Name: "generic-webapplication", Description: "web application"}
	Apache  = Module{Name: "apache-webapplication", Description: "Apache web application"}
	Nginx   = Module{Name: "nginx-webapplication", Description: "Nginx web application"}
)

// DefaultDocumentRoot is documentRoot's default.
const DefaultDocumentRoot = "/var/www"

// Run implements module.Module.
func (m Module) Run(ctx context.Context, req *module.Request) error {
	root, err := documentRoot(req)
	if err != nil {
		return err
	}
	fileset, err := isFileset(req.Component.Path)
	if err != nil {
		return err
	}
	if fileset {
		if req.Activity == module.Shell {
			m.shellHelp(req, root)
		}
		return runFileset(ctx, req, root)
	}
	switch req.Activity {
	case module.Activate:
		err = activate(req, root)
	case module.Deactivate:
		err = deactivate(req, root)
	case module.Shell:
		m.shellHelp(req, root)
	}
	if err != nil {
		return fmt.Errorf("%s %s %q: %w", req.Activity, m.Description, req.Component.Name, err)
	}
	return nil
}

// ShellEnv implements module.ShellEnviron.
func (m Module) ShellEnv(req *module.Request) ([]string, error) {
	root, err := documentRoot(req)
	if err != nil {
		return nil, err
	}
	env := []string{"documentRoot=" + root}
	if ok, err := isFileset(req.Component.Path); err != nil || !ok {
		return env, err
	}
	extra, err := filesetShellEnv(req, root)
	return append(env, extra...), err
}

func (m Module) shellHelp(req *module.Request, root string) {
	fmt.Fprintf(req.Stderr, "This is a shell session for the %s %s, served from %s ($documentRoot).\n", m.Description, req.Component.Name, root)
}

// documentRoot reads the documentRoot property.
func documentRoot(req *module.Request) (string, error) {
	root := req.Property("documentRoot", DefaultDocumentRoot)
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("container %s: property documentRoot=%q is not an absolute path", req.Container.Name, root)
	}
	return filepath.Clean(root), nil
}

// isFileset reports whether the component has a .dysnomia-fileset file.
func isFileset(comp string) (bool, error) {
	fi, err := os.Stat(filepath.Join(comp, ".dysnomia-fileset"))
	switch {
	case err == nil:
		return fi.Mode().IsRegular(), nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}
