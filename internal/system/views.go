package system

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// ViewsDir is where switch renders the upstream-compatible views of the
// declared config:
//
//	<stateDir>/system/etc/containers/<container>             container files: properties, then type=<type>
//	<stateDir>/system/etc/components/<container>/<component> symlinks to the component paths
//	<stateDir>/system/etc/properties                         the machine properties
//
// Pointing DYSNOMIA_CONTAINERS_PATH, DYSNOMIA_COMPONENTS_PATH and
// DYSNOMIA_PROPERTIES at them lets dysnomia-containers and Disnix-style
// command lines work on the declared components. etc is a symlink to a
// directory named after a hash of its content, replaced atomically, so a
// reader sees either the old views or the new ones.
func ViewsDir(stateDir string) string { return filepath.Join(Dir(stateDir), "etc") }

// Views is the rendered content of the views.
type Views struct {
	Files map[string][]byte // relative path -> content
	Links map[string]string // relative path -> symlink target
}

// RenderViews renders the views of cfg. Secret files appear as their paths
// (the property the module reads the file from), never their content.
func RenderViews(cfg *config.System) *Views {
	v := &Views{Files: map[string][]byte{}, Links: map[string]string{}}
	v.Files["properties"] = []byte(RenderProperties(cfg.Properties))
	for _, name := range cfg.ContainerNames() {
		sc := cfg.Containers[name]
		props := append(config.Properties(nil), sc.Properties...)
		for _, k := range sortedKeys(sc.SecretFiles) {
			props.Set(config.Property{Key: k, Values: []string{sc.SecretFiles[k]}})
		}
		sort.SliceStable(props, func(i, j int) bool { return props[i].Key < props[j].Key })
		v.Files["containers/"+name] = []byte(RenderProperties(props) + "type=" + quote(sc.Type) + "\n")
		for _, comp := range cfg.ComponentNames(name) {
			v.Links["components/"+name+"/"+comp] = cfg.Components[name][comp].Path
		}
	}
	return v
}

// RenderProperties writes properties in the container/properties file
// syntax, one per line in the given order: k="v" and k=("a" "b"). Values
// are double-quoted with \ " $ and ` escaped, so they read back literally
// (config.Parse) and upstream's shell evaluation gives the same strings.
func RenderProperties(ps config.Properties) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Key + "=")
		if p.List {
			b.WriteString("(")
			for _, v := range p.Values {
				b.WriteString(quote(v) + " ")
			}
			b.WriteString(")\n")
			continue
		}
		b.WriteString(quote(p.Value()) + "\n")
	}
	return b.String()
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}

// hash identifies the content of the views.
func (v *Views) hash() string {
	h := sha256.New()
	for _, k := range sortedKeys(v.Files) {
		fmt.Fprintf(h, "f %q %d\n", k, len(v.Files[k]))
		h.Write(v.Files[k])
	}
	for _, k := range sortedKeys(v.Links) {
		fmt.Fprintf(h, "l %q %q\n", k, v.Links[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Write installs the views in ViewsDir(stateDir). When the views in place
// already have this content it does nothing and returns false.
func (v *Views) Write(stateDir string) (changed bool, err error) {
	dir := Dir(stateDir)
	link := ViewsDir(stateDir)
	name := "etc." + v.hash()
	if cur, err := os.Readlink(link); err == nil && cur == name {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			return false, nil
		}
	}
	// The views live in the state directory, private like the snapshot
	// store (store.DirMode, store.FileMode): only root reads them.
	if err := os.MkdirAll(dir, store.DirMode); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-etc-")
	if err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, store.DirMode); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	if err := v.fill(tmp); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	final := filepath.Join(dir, name)
	if err := os.RemoveAll(final); err != nil { // left by an interrupted run
		return false, fmt.Errorf("render views: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	newLink := filepath.Join(dir, ".tmp-etc-link")
	os.Remove(newLink)
	if err := os.Symlink(name, newLink); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	if fi, err := os.Lstat(link); err == nil && fi.IsDir() {
		// A real directory in the way (not ours): keep it aside.
		if err := os.Rename(link, link+".old"); err != nil {
			return false, fmt.Errorf("render views: %w", err)
		}
	}
	if err := os.Rename(newLink, link); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return false, fmt.Errorf("render views: %w", err)
	}
	// Remove the views this replaced.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "etc.") && e.Name() != name && e.Name() != "etc.old" {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return true, nil
}

func (v *Views) fill(root string) error {
	mk := func(rel string) (string, error) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		return p, os.MkdirAll(filepath.Dir(p), store.DirMode)
	}
	for _, rel := range []string{"containers", "components"} {
		if err := os.MkdirAll(filepath.Join(root, rel), store.DirMode); err != nil {
			return err
		}
	}
	for rel, data := range v.Files {
		p, err := mk(rel)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, store.FileMode); err != nil {
			return err
		}
	}
	for rel, target := range v.Links {
		p, err := mk(rel)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	return syncTree(root)
}

// syncTree syncs every file and directory below root, so that the rename
// that publishes it publishes complete content.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
			return err
		}
		return nil
	})
}
