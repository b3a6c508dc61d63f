package system

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// recorderModule is an external module that appends
// "<activity> <component name> <container> owner=<owner>" to the file named
// by its log property, and fails with status 3 when "<activity>:<component
// name>" is listed in the file named by its failFile property. It keeps no
// markers: the deploy executor records them.
const recorderModule = `#!/bin/sh
comp=$(basename "$2")
echo "$1 $comp $3 owner=$owner" >> "$log"
if [ -n "$failFile" ] && [ -f "$failFile" ] && grep -qx "$1:$comp" "$failFile"; then
	echo "recorder: refusing to $1 $comp" >&2
	exit 3
fi
`

// fixture is a machine for the engine: a modules directory holding the
// recorder, component directories, a state directory and a call log.
type fixture struct {
	t                                      *testing.T
	root, modules, comps, state, log, fail string
	out                                    bytes.Buffer
	report                                 *recReport
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, root: root, modules: filepath.Join(root, "modules"), comps: filepath.Join(root, "components"),
		state: filepath.Join(root, "state"), log: filepath.Join(root, "calls.log"), fail: filepath.Join(root, "fail"), report: &recReport{}}
	for _, d := range []string{f.modules, f.comps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.modules, "recorder"), []byte(recorderModule), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// component makes a component directory named name (in version dir v, so
// that two versions have two paths with the same name) and returns its path.
func (f *fixture) component(v, name string) string {
	f.t.Helper()
	p := filepath.Join(f.comps, v, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) engine() *Engine {
	st := store.Open(f.state)
	st.Report = f.report
	iv := &module.Invoker{
		Registry: modules.Registry(),
		Env:      config.Environment{ModulesPath: []string{f.modules}, StateDir: f.state},
		Environ:  []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.root},
		Store:    st,
		Stdin:    strings.NewReader(""),
		Stdout:   &f.out,
		Stderr:   &f.out,
		Report:   f.report,
	}
	return &Engine{Invoker: iv}
}

// calls returns the module calls logged since the last call of calls.
func (f *fixture) calls() []string {
	f.t.Helper()
	data, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	os.Remove(f.log)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// failOn makes the recorder fail the given "<activity>:<component>" calls.
func (f *fixture) failOn(calls ...string) {
	f.t.Helper()
	if err := os.WriteFile(f.fail, []byte(strings.Join(calls, "\n")+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// config decodes a system config written as JSON, with {{log}}, {{fail}}
// and {{comps}} replaced by the fixture's paths.
func (f *fixture) config(js string) *config.System {
	f.t.Helper()
	js = strings.NewReplacer("{{log}}", f.log, "{{fail}}", f.fail, "{{comps}}", f.comps, "{{state}}", f.state).Replace(js)
	cfg, err := config.DecodeSystem([]byte(js))
	if err != nil {
		f.t.Fatalf("config: %v\n%s", err, js)
	}
	return cfg
}

func (f *fixture) switchTo(cfg *config.System) (*SwitchResult, error) {
	f.t.Helper()
	return f.engine().Switch(context.Background(), cfg, false)
}

func (f *fixture) mustSwitch(cfg *config.System) *SwitchResult {
	f.t.Helper()
	res, err := f.switchTo(cfg)
	if err != nil {
		f.t.Fatalf("switch: %v\noutput:\n%s\nreport:\n%s", err, f.out.String(), f.report)
	}
	return res
}

func (f *fixture) markers(kind string) []string {
	f.t.Helper()
	st := store.Open(f.state)
	var ms []store.Marker
	var err error
	if kind == "activated" {
		ms, err = st.Activated()
	} else {
		ms, err = st.Garbage()
	}
	if err != nil {
		f.t.Fatal(err)
	}
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Key.String())
	}
	return out
}

func (f *fixture) record() []string {
	f.t.Helper()
	rec, _, err := LoadRecord(f.state)
	if err != nil {
		f.t.Fatal(err)
	}
	out := []string{}
	for _, e := range rec.Entries {
		out = append(out, e.Key.String()+" "+strings.TrimPrefix(e.Path, f.comps+"/"))
	}
	return out
}

// stepLines renders steps as "activity key reason (detail)".
func stepLines(steps []Step) []string {
	out := []string{}
	for _, s := range steps {
		line := fmt.Sprintf("%s %s %s", s.Activity, s.Key, s.Reason)
		if s.Detail != "" {
			line += " (" + s.Detail + ")"
		}
		out = append(out, line)
	}
	return out
}

// recReport records what the engine reports.
type recReport struct {
	bytes.Buffer
}

func (r *recReport) Infof(format string, args ...any) { fmt.Fprintf(r, "info: "+format+"\n", args...) }
func (r *recReport) Warnf(format string, args ...any) {
	fmt.Fprintf(r, "warning: "+format+"\n", args...)
}
func (r *recReport) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }
