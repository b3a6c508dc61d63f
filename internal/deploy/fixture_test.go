package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// recorderModule is an external module that appends "<activity> <component>
// <container>" to the file named by its log property, and keeps markers the
// way upstream's stateful modules do (empty activated marker, moved to
// garbage on deactivate, removed with the state by collect-garbage). Its
// state is a directory $stateRoot/<component>. It fails with status 3 on
// the activity named by failOn for the component named by failComponent.
const recorderModule = `#!/bin/sh
echo "$1 $2 $3" >> "$log"
comp=$(basename "$2" | sed 's/^[0-9a-df-np-sv-z]\{32\}-//')
cont=$(basename "$3")
if [ "$1" = "$failOn" ] && [ "$comp" = "$failComponent" ]; then
	echo "recorder: refusing to $1 $comp" >&2
	exit 3
fi
act="$DYSNOMIA_STATEDIR/activated/$cont/$comp"
gar="$DYSNOMIA_STATEDIR/garbage/$cont/$comp"
case "$1" in
activate)
	mkdir -p "$stateRoot/$comp" "$(dirname "$act")"
	[ -e "$gar" ] && mv "$gar" "$act"
	[ -e "$act" ] || : > "$act"
	;;
deactivate)
	if [ ! -e "$gar" ] && [ -e "$act" ]; then mkdir -p "$(dirname "$gar")"; mv "$act" "$gar"; fi
	;;
collect-garbage)
	if [ -e "$gar" ]; then rm -rf "$stateRoot/$comp"; rm -f "$gar"; fi
	;;
esac
`

// fixture is a machine: a containers directory, a components directory, a
// fake Nix store (NIX_STORE_DIR) holding the components, a modules
// directory with the recorder, and a state directory.
type fixture struct {
	root, containers, components, nixStore, modules, state, log, recState string
	stdout, stderr                                                        bytes.Buffer
	report                                                                *recReport
	st                                                                    *store.Store
	hash                                                                  int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{
		root:       root,
		containers: filepath.Join(root, "containers"),
		components: filepath.Join(root, "components"),
		nixStore:   filepath.Join(root, "nix", "store"),
		modules:    filepath.Join(root, "modules"),
		state:      filepath.Join(root, "state"),
		log:        filepath.Join(root, "recorder.log"),
		recState:   filepath.Join(root, "recorder-state"),
		report:     &recReport{},
	}
	t.Setenv("NIX_STORE_DIR", f.nixStore)
	for _, d := range []string{f.containers, f.components, f.nixStore, f.modules} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(f.modules, "recorder"), []byte(recorderModule), 0o755))
	f.st = store.Open(f.state)
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// container writes a container file.
func (f *fixture) container(t *testing.T, name string, lines ...string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(f.containers, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

// recorderContainer writes a container of type recorder logging to f.log.
func (f *fixture) recorderContainer(t *testing.T, name string, extra ...string) {
	t.Helper()
	f.container(t, name, append([]string{"type=recorder", "log=" + f.log, "stateRoot=" + f.recState}, extra...)...)
}

// component creates a store path <hash>-<name> (with the given files) and
// links it as components/<container>/<name>. It returns the store path.
func (f *fixture) component(t *testing.T, container, name string, files map[string]string) string {
	t.Helper()
	f.hash++
	hash := fmt.Sprintf("%032d", f.hash)
	hash = strings.NewReplacer("0", "a", "5", "b").Replace(hash)
	p := filepath.Join(f.nixStore, hash+"-"+name)
	must(t, os.MkdirAll(p, 0o755))
	for rel, body := range files {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(p, rel)), 0o755))
		must(t, os.WriteFile(filepath.Join(p, rel), []byte(body), 0o644))
	}
	f.link(t, container, name, p)
	return p
}

// link points components/<container>/<name> at target, replacing a link.
func (f *fixture) link(t *testing.T, container, name, target string) {
	t.Helper()
	dir := filepath.Join(f.components, container)
	must(t, os.MkdirAll(dir, 0o755))
	os.Remove(filepath.Join(dir, name))
	must(t, os.Symlink(target, filepath.Join(dir, name)))
}

func (f *fixture) unlink(t *testing.T, container, name string) {
	t.Helper()
	must(t, os.Remove(filepath.Join(f.components, container, name)))
}

func (f *fixture) invoker() *module.Invoker {
	return &module.Invoker{
		Registry: modules.Registry(),
		Env: config.Environment{
			ContainersPath: []string{f.containers},
			ComponentsPath: []string{f.components},
			ModulesPath:    []string{f.modules},
			StateDir:       f.state,
		},
		Environ: []string{"PATH=" + os.Getenv("PATH"), "NIX_STORE_DIR=" + f.nixStore},
		Store:   f.st,
		Stdin:   strings.NewReader(""),
		Stdout:  &f.stdout,
		Stderr:  &f.stderr,
		Report:  f.report,
	}
}

// plan computes the deployment plan of the fixture's current state.
func (f *fixture) plan(t *testing.T) *Plan {
	t.Helper()
	avail, warnings, err := Available([]string{f.components}, "")
	must(t, err)
	act, err := f.st.Activated()
	must(t, err)
	p := Compute(avail, act)
	p.Warnings = append(warnings, p.Warnings...)
	return p
}

// deploy computes and runs the plan.
func (f *fixture) deploy(t *testing.T) (*Plan, error) {
	t.Helper()
	p := f.plan(t)
	return p, (&Executor{Invoker: f.invoker()}).Run(context.Background(), p.Steps)
}

// calls returns the recorder's log lines and empties the log.
func (f *fixture) calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	must(t, os.Remove(f.log))
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// recReport records what the executor reports.
type recReport struct {
	mu    sync.Mutex
	lines []string
}

func (r *recReport) Infof(format string, args ...any) { r.add("info: "+format, args...) }
func (r *recReport) Warnf(format string, args ...any) { r.add("warning: "+format, args...) }
func (r *recReport) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}
func (r *recReport) Progress(l string, n int64) ui.Counter { return ui.Discard.Progress(l, n) }

func (r *recReport) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.lines
	r.lines = nil
	return out
}

func (r *recReport) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}
