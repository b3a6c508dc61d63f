package module

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Registry maps type names to native modules.
type Registry struct {
	native map[string]Module
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{native: map[string]Module{}} }

// Add registers a native module; adding a type twice panics.
func (r *Registry) Add(typ string, m Module) {
	if _, dup := r.native[typ]; dup {
		panic("module: type registered twice: " + typ)
	}
	r.native[typ] = m
}

// Types lists the native types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.native))
	for t := range r.native {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Native returns the native module for typ.
func (r *Registry) Native(typ string) (Module, bool) {
	m, ok := r.native[typ]
	return m, ok
}

// UnknownTypeError reports a type that is neither an executable on the
// modules path nor a native module.
type UnknownTypeError struct {
	Type        string
	ModulesPath []string
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("unknown module type %q: no executable %q on DYSNOMIA_MODULES_PATH %v and no built-in module of that name", e.Type, e.Type, e.ModulesPath)
}

// Resolve finds the module for a type. In order:
//   - a type starting with "/" or "./" is a path: an executable file, or a
//     package directory holding exactly one file in libexec/dysnomia/;
//   - an executable <dir>/<type> in a DYSNOMIA_MODULES_PATH directory, so
//     users can override built-in modules;
//   - a native module.
func (r *Registry) Resolve(typ string, modulesPath []string) (Module, error) {
	if strings.HasPrefix(typ, "/") || strings.HasPrefix(typ, "./") {
		exe, err := modulePath(typ)
		if err != nil {
			return nil, err
		}
		return &External{Path: exe}, nil
	}
	if typ == "" {
		return nil, fmt.Errorf("no module type given")
	}
	if strings.Contains(typ, "/") {
		return nil, &UnknownTypeError{Type: typ, ModulesPath: modulesPath}
	}
	for _, dir := range modulesPath {
		p := filepath.Join(dir, typ)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return &External{Path: p}, nil
		}
	}
	if m, ok := r.native[typ]; ok {
		return m, nil
	}
	return nil, &UnknownTypeError{Type: typ, ModulesPath: modulesPath}
}

func modulePath(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("module %s: %w", p, err)
	}
	if fi.Mode().IsRegular() {
		return filepath.Abs(p)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("module %s: not a file or package directory", p)
	}
	dir := filepath.Join(p, "libexec", "dysnomia")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("module package %s: %w", p, err)
	}
	if len(entries) != 1 {
		return "", fmt.Errorf("module package %s: want exactly one file in libexec/dysnomia, found %d", p, len(entries))
	}
	return filepath.Abs(filepath.Join(dir, entries[0].Name()))
}
