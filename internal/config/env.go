package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Environment holds the search paths and directories the tools read from
// the environment, with upstream's defaults applied.
type Environment struct {
	ContainersPath []string // DYSNOMIA_CONTAINERS_PATH, default /etc/dysnomia/containers
	ComponentsPath []string // DYSNOMIA_COMPONENTS_PATH, default /etc/dysnomia/components
	ModulesPath    []string // DYSNOMIA_MODULES_PATH, default empty
	StateDir       string   // DYSNOMIA_STATEDIR, see DefaultStateDir
	Properties     string   // DYSNOMIA_PROPERTIES, default /etc/dysnomia/properties
}

// FromEnv reads the environment through getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) Environment {
	return Environment{
		ContainersPath: SplitPath(getenv("DYSNOMIA_CONTAINERS_PATH"), "/etc/dysnomia/containers"),
		ComponentsPath: SplitPath(getenv("DYSNOMIA_COMPONENTS_PATH"), "/etc/dysnomia/components"),
		ModulesPath:    SplitPath(getenv("DYSNOMIA_MODULES_PATH"), ""),
		StateDir:       DefaultStateDir(getenv),
		Properties:     orDefault(getenv("DYSNOMIA_PROPERTIES"), "/etc/dysnomia/properties"),
	}
}

// DefaultStateDir returns DYSNOMIA_STATEDIR, or /var/state/dysnomia for root,
// or $HOME/.dysnomia for anyone else. The CLI resolves it once and passes it
// to every module and child process explicitly.
func DefaultStateDir(getenv func(string) string) string {
	if d := getenv("DYSNOMIA_STATEDIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/state/dysnomia"
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".dysnomia")
}

// SplitPath splits a colon-separated list, dropping empty entries. An unset
// or empty value gives def (split the same way).
func SplitPath(v, def string) []string {
	if v == "" {
		v = def
	}
	var out []string
	for _, p := range strings.Split(v, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
