// Package system applies a machine's system config (config.System): the
// engine behind `dysnomia system switch` and `dysnomia system pre-switch`,
// the NixOS entry points.
//
// Both commands compare two sets of Entries: what is declared (the config
// being switched to) and what is running (the applied record that switch
// keeps in <stateDir>/system/applied.json, or a running system's config).
// Switch plans activations and removals from the difference and runs them
// through the deploy executor; pre-switch snapshots the active components
// that switch is going to touch, while the old servers still run.
//
// Only components of the system config are ever touched: a component
// activated by other means (Disnix, by hand) that the config never declared
// is not in the applied record, so switch never removes it.
package system

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Container is a declared container: everything about it that a module's
// activities depend on.
type Container struct {
	Name          string
	Type          string
	Properties    config.Properties // sorted by key
	SecretFiles   map[string]string // property name -> file path; the file is read by the module
	ServerPackage string
}

// Entry is one declared component with its container.
type Entry struct {
	store.Key
	Path       string
	Container  Container
	Properties config.Properties // the component's own, merged over the container's
}

// Entries lists the components of cfg, sorted by container and component.
func Entries(cfg *config.System) []Entry {
	var out []Entry
	for _, cname := range cfg.ContainerNames() {
		sc := cfg.Containers[cname]
		c := Container{Name: cname, Type: sc.Type, Properties: sc.Properties, SecretFiles: sc.SecretFiles, ServerPackage: sc.ServerPackage}
		for _, name := range cfg.ComponentNames(cname) {
			comp := cfg.Components[cname][name]
			out = append(out, Entry{Key: store.Key{Container: cname, Component: name}, Path: comp.Path, Container: c, Properties: comp.Properties})
		}
	}
	return out
}

// binDirProperty is the property naming the client tools' directory, by
// container type.
var binDirProperty = map[string]string{
	"postgresql-database": "postgresqlBinDir",
	"mysql-database":      "mysqlBinDir",
}

// Module is the container an activity of e runs in: the container's
// properties, its secret files as properties holding their paths, and the
// component's properties over both. A postgresql-database (mysql-database)
// container with a server package and no postgresqlBinDir (mysqlBinDir)
// gets <serverPackage>/bin, so that the dump tool matches the server it
// dumps (before an upgrade: the old one, whatever PATH holds).
func (e Entry) Module() module.Container {
	props := make(config.Properties, 0, len(e.Container.Properties)+len(e.Container.SecretFiles)+len(e.Properties))
	props = append(props, e.Container.Properties...)
	for _, k := range sortedKeys(e.Container.SecretFiles) {
		props.Set(config.Property{Key: k, Values: []string{e.Container.SecretFiles[k]}})
	}
	for _, p := range e.Properties {
		props.Set(p)
	}
	// The dump tools must match the server: the server package's, unless
	// the config names others.
	if key := binDirProperty[e.Container.Type]; key != "" && e.Container.ServerPackage != "" && !props.Has(key) {
		props.Set(config.Property{Key: key, Values: []string{filepath.Join(e.Container.ServerPackage, "bin")}})
	}
	return module.Container{Name: e.Container.Name, Arg: e.Container.Name, Type: e.Container.Type, Properties: props}
}

// Changes lists what differs between e (as it was) and next (as it is
// declared now), by field name: "path", "type", "properties",
// "secretFiles", "serverPackage" and "component properties". None means
// the two are the same.
func (e Entry) Changes(next Entry) []string {
	var out []string
	if e.Path != next.Path {
		out = append(out, "path")
	}
	if e.Container.Type != next.Container.Type {
		out = append(out, "type")
	}
	if !sameProperties(e.Container.Properties, next.Container.Properties) {
		out = append(out, "properties")
	}
	if !sameStrings(e.Container.SecretFiles, next.Container.SecretFiles) {
		out = append(out, "secretFiles")
	}
	if e.Container.ServerPackage != next.Container.ServerPackage {
		out = append(out, "serverPackage")
	}
	if !sameProperties(e.Properties, next.Properties) {
		out = append(out, "component properties")
	}
	return out
}

func sameProperties(a, b config.Properties) bool {
	if len(a) != len(b) {
		return false
	}
	am := map[string]config.Property{}
	for _, p := range a {
		am[p.Key] = p
	}
	for _, p := range b {
		q, ok := am[p.Key]
		if !ok || q.List != p.List || len(q.Values) != len(p.Values) {
			return false
		}
		for i := range q.Values {
			if q.Values[i] != p.Values[i] {
				return false
			}
		}
	}
	return true
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func byKey(entries []Entry) map[store.Key]Entry {
	m := make(map[store.Key]Entry, len(entries))
	for _, e := range entries {
		m[e.Key] = e
	}
	return m
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return less(es[i].Key, es[j].Key) })
}

func less(a, b store.Key) bool {
	if a.Container != b.Container {
		return a.Container < b.Container
	}
	return a.Component < b.Component
}

// describeChanges is "serverPackage /nix/store/…-postgresql-15 -> …-16"
// for one change of the server package, else the list of changed fields.
func describeChanges(old, next Entry) string {
	ch := old.Changes(next)
	if len(ch) == 1 && ch[0] == "serverPackage" {
		return fmt.Sprintf("serverPackage %s -> %s", orNone(old.Container.ServerPackage), orNone(next.Container.ServerPackage))
	}
	return strings.Join(ch, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
