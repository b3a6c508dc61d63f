package subversion

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// requireSvn skips the test when Subversion's programs are missing, or
// fails it under CI=true.
func requireSvn(t testing.TB) {
	t.Helper()
	for _, p := range []string{"svnadmin", "svnlook", "svn", "svnmucc"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (CI=true: a missing tool is a failure; apt-get install subversion)", p)
			}
			t.Skipf("%s not found (apt-get install subversion)", p)
		}
	}
}

// recorder is a ui.Reporter that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Infof(f string, a ...any) { r.add("info: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Warnf(f string, a ...any) { r.add("warning: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Progress(string, int64) ui.Counter {
	return ui.Discard.Progress("", 0)
}
func (r *recorder) add(s string) { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// fixture is one component in one container with its own base directory
// and store.
type fixture struct {
	t     *testing.T
	base  string
	store *store.Store
	comp  module.Component
	props config.Properties
	rep   *recorder
}

// newFixture makes a component named name whose initial dump files are
// dumps (file name -> content) in subversion-repositories/ (none: no such
// directory).
func newFixture(t *testing.T, name string, dumps map[string][]byte) *fixture {
	t.Helper()
	requireSvn(t)
	root := t.TempDir()
	dir := filepath.Join(root, "component")
	mustMkdir(t, dir)
	if dumps != nil {
		mustMkdir(t, filepath.Join(dir, DumpDir))
	}
	for n, content := range dumps {
		if err := os.WriteFile(filepath.Join(dir, DumpDir, n), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{
		t: t, base: filepath.Join(root, "repos dir"), store: store.Open(filepath.Join(root, "state")),
		comp: module.Component{Name: name, Path: dir}, rep: &recorder{},
	}
	f.set("svnBaseDir", f.base)
	return f
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) set(key, value string) {
	f.props.Set(config.Property{Key: key, Values: []string{value}})
}

func (f *fixture) request(a module.Activity) *module.Request {
	return &module.Request{
		Activity:  a,
		Component: f.comp,
		Container: module.Container{Name: Type, Arg: Type, Type: Type, Properties: f.props},
		Store:     f.store,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Stdin:     strings.NewReader(""),
		Stdout:    io.Discard,
		Stderr:    io.Discard,
		Report:    f.rep,
	}
}

func (f *fixture) run(a module.Activity) error {
	return Module{}.Run(context.Background(), f.request(a))
}

func (f *fixture) must(a module.Activity) {
	f.t.Helper()
	if err := f.run(a); err != nil {
		f.t.Fatalf("%s %s: %v\nreported:\n%s", a, f.comp.Name, err, f.rep)
	}
}

func (f *fixture) repo() string { return filepath.Join(f.base, f.comp.Name) }
func (f *fixture) url() string  { return fileURL(f.repo()) }
func (f *fixture) key() store.Key {
	return store.Key{Container: Type, Component: f.comp.Name}
}

func (f *fixture) generations() []store.Generation {
	f.t.Helper()
	gens, err := f.store.Generations(f.key())
	if err != nil {
		f.t.Fatal(err)
	}
	return gens
}

// put commits a file with content into the repository at url.
func put(t testing.TB, url, path, content string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "content")
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	svnRun(t, "svnmucc", "--non-interactive", "--config-dir", t.TempDir(), "-m", "put "+path, "-U", url, "put", src, path)
}

// files lists every path in the head revision at url, sorted.
func files(t testing.TB, url string) []string {
	t.Helper()
	out := svnRun(t, "svn", "--non-interactive", "--config-dir", t.TempDir(), "list", "-R", url)
	list := strings.Fields(out)
	sort.Strings(list)
	return list
}

// cat is a file's content in the head revision at url.
func cat(t testing.TB, url, path string) string {
	t.Helper()
	return svnRun(t, "svn", "--non-interactive", "--config-dir", t.TempDir(), "cat", url+"/"+path)
}

// dumpOf is svnadmin dump of every revision of the repository at dir.
func dumpOf(t testing.TB, dir string) []byte {
	t.Helper()
	return []byte(svnRun(t, "svnadmin", "dump", "--quiet", "--", dir))
}

func svnRun(t testing.TB, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// makeDump builds a repository with one revision per file (path ->
// content, committed in sorted order) and returns its dump.
func makeDump(t testing.TB, contents map[string]string) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "scratch")
	svnRun(t, "svnadmin", "create", dir)
	paths := make([]string, 0, len(contents))
	for p := range contents {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		put(t, fileURL(dir), p, contents[p])
	}
	return dumpOf(t, dir)
}

// payload is the decompressed content of a payload file of a snapshot.
func (f *fixture) payload(sn store.Snapshot, name string) []byte {
	f.t.Helper()
	p, err := f.store.Read(context.Background(), sn)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := p.Open(name)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

// workLeft lists what remains in the component's work directory besides
// its lock file.
func (f *fixture) workLeft() []string {
	f.t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.base, workDirName, f.comp.Name))
	if err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		if e.Name() != "lock" {
			left = append(left, e.Name())
		}
	}
	return left
}
