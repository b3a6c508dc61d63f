package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// utilLib is the shell helper library the package installs as
// share/dysnomia/util.
var utilLib = func() string {
	p, err := filepath.Abs(filepath.Join("..", "..", "share", "dysnomia", "util"))
	if err != nil {
		panic(err)
	}
	return p
}()

// shells are the shells the library is sourced by: bash (upstream's
// modules and Disnix's tests) and dash (a plain POSIX shell).
func shells(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sh := range []string{"bash", "dash"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI: %v", sh, err)
		}
	}
	return out
}

// utilEnv is a machine for the library: a state directory and a fake Nix
// store.
type utilEnv struct {
	root, state, nixStore string
	env                   []string
}

func newUtilEnv(t *testing.T) *utilEnv {
	t.Helper()
	env, state := StateEnv(t)
	u := &utilEnv{root: filepath.Dir(state), state: state}
	u.nixStore = filepath.Join(u.root, "nix", "store")
	u.env = append(env, "NIX_STORE_DIR="+u.nixStore)
	return u
}

// sh runs script in shell after sourcing the library; it returns stdout,
// stderr and the exit status.
func (u *utilEnv) sh(t *testing.T, shell, script string, extraEnv ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(shell, "-c", ". "+utilLib+"\n"+script)
	cmd.Env = withPath(append(append([]string{}, u.env...), extraEnv...))
	cmd.Dir = u.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (u *utilEnv) mustSh(t *testing.T, shell, script string, extraEnv ...string) string {
	t.Helper()
	out, errOut, code := u.sh(t, shell, script, extraEnv...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s\nstderr:\n%s", filepath.Base(shell), code, script, errOut)
	}
	return out
}

// TestUtilNames: the library derives component and container names as the
// Go code does (config.NameOf), and composes upstream's paths.
func TestUtilNames(t *testing.T) {
	u := newUtilEnv(t)
	t.Setenv("NIX_STORE_DIR", u.nixStore)
	hash := "0123456789abcdfghijklmnpqrsvwxyz"
	inputs := []string{
		filepath.Join(u.nixStore, hash+"-testdb"),
		filepath.Join(u.nixStore, hash+"-testdb-1.0"),
		filepath.Join(u.nixStore, "0123456789abcdefghijklmnpqrsvwxy-notahash"), // e is not nixbase32
		filepath.Join(u.nixStore, hash+"-"),
		filepath.Join(u.nixStore, "short-name"),
		filepath.Join(u.root, "elsewhere", hash+"-keeps"),
		"plain-name",
		"/srv/with space/comp",
	}
	for _, shell := range shells(t) {
		for _, in := range inputs {
			got := strings.TrimSuffix(u.mustSh(t, shell, "determineComponentName "+shellQuote(in)), "\n")
			if want := config.NameOf(in); got != want {
				t.Errorf("%s: determineComponentName %q = %q, want %q (config.NameOf)", filepath.Base(shell), in, got, want)
			}
		}
		out := u.mustSh(t, shell, `determineContainerName "" mysql-database; determineContainerName /etc/dysnomia/containers/mycont x`)
		if out != "mysql-database\nmycont\n" {
			t.Errorf("determineContainerName: %q", out)
		}
		comp := filepath.Join(u.nixStore, hash+"-testdb")
		out = u.mustSh(t, shell, "composeUtilityVariables /libexec/dysnomia/mytype "+comp+" /etc/dysnomia/containers/cont\n"+
			`echo "$typeIdentifier $componentName $containerName $componentPath"; composeSnapshotsPath; composeGenerationsPath; composeChecksumPath; composeGarbagePath; composeActivatedPath`)
		want := "mytype testdb cont " + comp + "\n" +
			u.state + "/snapshots/cont/testdb\n" + u.state + "/generations/cont/testdb\n" + u.state + "/checksums/cont/testdb\n" +
			u.state + "/garbage/cont/testdb\n" + u.state + "/activated/cont/testdb\n"
		if d := cmp.Diff(want, out); d != "" {
			t.Errorf("%s: composed variables (-want +got):\n%s", filepath.Base(shell), d)
		}
		// Defaults, as the dysnomia commands apply them (root here in CI).
		cmd := exec.Command(shell, "-c", ". "+utilLib+"\ncheckStateDir; checkContainersPath; checkComponentsPath; echo \"$DYSNOMIA_STATEDIR $DYSNOMIA_CONTAINERS_PATH $DYSNOMIA_COMPONENTS_PATH\"")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/home/someone"}
		got, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		wantDir := config.DefaultStateDir(func(k string) string { return map[string]string{"HOME": "/home/someone"}[k] })
		if want := wantDir + " /etc/dysnomia/containers /etc/dysnomia/components\n"; string(got) != want {
			t.Errorf("defaults: %q, want %q", got, want)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestUtilMarkers: the marker functions keep the markers as the Go store
// does — the path recorded, garbage moved back on activation, a type the Go
// code recorded kept, deactivating an inactive component harmless — and
// private.
func TestUtilMarkers(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			u := newUtilEnv(t)
			st := store.Open(u.state)
			comp := filepath.Join(u.nixStore, "0123456789abcdfghijklmnpqrsvwxyz-app")
			k := store.Key{Container: "cont", Component: "app"}
			pre := "composeUtilityVariables /m/mytype " + comp + " cont\n"
			markers := func() ([]store.Marker, []store.Marker) {
				a, err := st.Activated()
				if err != nil {
					t.Fatal(err)
				}
				g, err := st.Garbage()
				if err != nil {
					t.Fatal(err)
				}
				return a, g
			}
			check := func(step string, wantA, wantG []store.Marker) {
				t.Helper()
				a, g := markers()
				if d := cmp.Diff(wantA, a); d != "" {
					t.Errorf("%s: activated (-want +got):\n%s", step, d)
				}
				if d := cmp.Diff(wantG, g); d != "" {
					t.Errorf("%s: garbage (-want +got):\n%s", step, d)
				}
			}
			m := []store.Marker{{Key: k, ComponentPath: comp}}

			u.mustSh(t, shell, pre+"markComponentAsGarbage") // never active: nothing
			check("deactivate before activate", nil, nil)
			u.mustSh(t, shell, pre+"markComponentAsActive; markComponentAsActive")
			check("activate", m, nil)
			for _, p := range []string{"activated", "activated/cont"} {
				if fi, err := os.Stat(filepath.Join(u.state, p)); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("%s: %v %v, want mode 0700", p, fi.Mode(), err)
				}
			}
			if fi, err := os.Stat(filepath.Join(u.state, "activated", "cont", "app")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("marker: %v %v, want mode 0600", fi.Mode(), err)
			}
			if _, _, code := u.sh(t, shell, pre+"componentMarkedAsGarbage"); code == 0 {
				t.Error("an active component is garbage")
			}
			u.mustSh(t, shell, pre+"markComponentAsGarbage; markComponentAsGarbage")
			check("deactivate", nil, m)
			u.mustSh(t, shell, pre+"componentMarkedAsGarbage")
			u.mustSh(t, shell, pre+"markComponentAsActive")
			check("activate again", m, nil)

			// A type the Go code recorded survives the library's activation
			// of the same path; another path replaces the record.
			if err := st.RecordActive(k, comp, "mytype"); err != nil {
				t.Fatal(err)
			}
			u.mustSh(t, shell, pre+"markComponentAsActive")
			check("type kept", []store.Marker{{Key: k, ComponentPath: comp, Type: "mytype"}}, nil)
			comp2 := filepath.Join(u.nixStore, "1123456789abcdfghijklmnpqrsvwxyz-app")
			u.mustSh(t, shell, "composeUtilityVariables /m/mytype "+comp2+" cont\nmarkComponentAsActive")
			check("upgrade", []store.Marker{{Key: k, ComponentPath: comp2}}, nil)

			u.mustSh(t, shell, pre+"markComponentAsGarbage; unmarkComponentAsGarbage")
			check("collected", nil, nil)
			u.mustSh(t, shell, pre+"markComponentAsActive; unmarkComponentAsActive")
			check("stateless", nil, nil)
			// A component given by name (Disnix's test wrapper) gets an
			// empty marker, as upstream writes it.
			u.mustSh(t, shell, "composeUtilityVariables wrapper app cont\nmarkComponentAsActive")
			check("by name", []store.Marker{{Key: k}}, nil)
		})
	}
}

// snapshotScript is the snapshot step of an upstream-style module (as
// Disnix's test wrapper writes it): dump into a temporary directory, name
// the snapshot after its hash, move it into the store unless it is there,
// and run the generation step.
const snapshotScript = `
tmpdir=$(mktemp -d)
cp -R "$1"/. "$tmpdir"
hash=$(computeOutputHash "$tmpdir")
hash=${hash#sha256:}
snapshotsPath=$(composeSnapshotsPath)
if [ -d "$snapshotsPath/$hash" ]; then
    rm -Rf "$tmpdir"
else
    mkdir -p "$snapshotsPath"
    mv "$tmpdir" "$snapshotsPath/$hash"
fi
createGenerationSymlink "$hash"
echo "$hash"
`

// TestUtilSnapshots: snapshots made with the library's functions have the
// generations the Go store would give them, are listed by dysnomia
// snapshots list, pass snapshots check (their checksums are verified: a
// damaged one fails it), and gc removes them like any other.
func TestUtilSnapshots(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			u := newUtilEnv(t)
			st := store.Open(u.state)
			k := store.Key{Container: "cont", Component: "app"}
			pre := "composeUtilityVariables /m/mytype " + filepath.Join(u.nixStore, "0123456789abcdfghijklmnpqrsvwxyz-app") + " cont\n"
			data := filepath.Join(u.root, "data")
			// Names whose byte order differs from a sort of full paths
			// ("a-b" < "a/x"), dot files, nested and empty directories.
			for rel, body := range map[string]string{"a/x": "1", "a-b": "2", ".hidden": "3", "B": "4", "sub dir/f g": "5", "a/y/z": "6"} {
				write(t, filepath.Join(data, rel), body, 0o644)
			}
			if err := os.MkdirAll(filepath.Join(data, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
			snap := func() string {
				t.Helper()
				return strings.TrimSpace(u.mustSh(t, shell, pre+"set -- "+shellQuote(data)+"\n"+snapshotScript))
			}
			ids := func() []string {
				t.Helper()
				gens, err := st.Generations(k)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, g := range gens {
					out = append(out, strconv.Itoa(g.N)+":"+g.Snapshot.ID)
				}
				return out
			}
			id1 := snap()
			if id2 := snap(); id2 != id1 {
				t.Fatalf("unchanged data, new id %s != %s", id2, id1)
			}
			if d := cmp.Diff([]string{"1:" + id1}, ids()); d != "" {
				t.Errorf("after an unchanged snapshot (-want +got):\n%s", d)
			}
			write(t, filepath.Join(data, "a", "x"), "changed", 0o644)
			id2 := snap()
			write(t, filepath.Join(data, "a", "x"), "1", 0o644)
			if again := snap(); again != id1 {
				t.Fatalf("back to the first state: id %s, want %s", again, id1)
			}
			if d := cmp.Diff([]string{"1:" + id1, "2:" + id2, "3:" + id1}, ids()); d != "" {
				t.Errorf("generations (-want +got):\n%s", d)
			}
			last := strings.TrimSpace(u.mustSh(t, shell, pre+"determineLastSnapshot"))
			if want := filepath.Join(u.state, "snapshots", "cont", "app", id1); last != want {
				t.Errorf("determineLastSnapshot = %q, want %q", last, want)
			}

			r := MustRun(t, u.env, "dysnomia", "snapshots", "list", "--container", "cont", "--component", "app")
			if d := cmp.Diff("cont/app/"+id1+"\ncont/app/"+id2+"\ncont/app/"+id1+"\n", r.Stdout); d != "" {
				t.Errorf("snapshots list (-want +got):\n%s", d)
			}
			MustRun(t, u.env, "dysnomia", "snapshots", "check")
			MustRun(t, u.env, "dysnomia-snapshots", "--query-all", "--check")

			// The checksum is really checked: damage fails the check.
			victim := filepath.Join(u.state, "snapshots", "cont", "app", id2, "a-b")
			if err := os.WriteFile(victim, []byte("damaged"), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := Run(t, u.env, "dysnomia", "snapshots", "check"); r.Code != 65 || !strings.Contains(r.Stdout+r.Stderr, id2) {
				t.Errorf("check of a damaged snapshot: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			MustRun(t, u.env, "dysnomia", "snapshots", "gc", "--keep", "1")
			if d := cmp.Diff([]string{"3:" + id1}, ids()); d != "" {
				t.Errorf("after gc (-want +got):\n%s", d)
			}
			if _, err := os.Stat(filepath.Dir(victim)); !os.IsNotExist(err) {
				t.Errorf("gc kept the old snapshot: %v", err)
			}
			MustRun(t, u.env, "dysnomia", "snapshots", "check")
		})
	}
}

// TestUtilOutputHash: computeOutputHash of a file is the sha256 of its
// bytes, of a single-file directory upstream's stream ".\n./f\n\n" + bytes.
func TestUtilOutputHash(t *testing.T) {
	u := newUtilEnv(t)
	f := filepath.Join(u.root, "d", "dump")
	write(t, f, "hello\n", 0o644)
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(h[:]) }
	for _, shell := range shells(t) {
		if got := u.mustSh(t, shell, "computeOutputHash "+f); got != sum("hello\n") {
			t.Errorf("file: %q", got)
		}
		if got := u.mustSh(t, shell, "computeOutputHash "+filepath.Dir(f)); got != sum(".\n./dump\n\nhello\n") {
			t.Errorf("directory: %q", got)
		}
	}
}

// TestUtilWait: the wait functions make their last check at the timeout
// (upstream gave up a second early, and with timeout 1 never looked), and
// a file of the wrong type fails the module.
func TestUtilWait(t *testing.T) {
	t.Parallel() // mostly sleeping
	// bash: waitForPort uses /dev/tcp when there is no nc.
	shell := shells(t)[0]
	u := newUtilEnv(t)
	late := filepath.Join(u.root, "late")
	timed := func(script string) (time.Duration, string, int) {
		start := time.Now()
		_, errOut, code := u.sh(t, shell, script)
		return time.Since(start), errOut, code
	}

	if d, errOut, code := timed("touch " + late + "; waitForFile " + late + " 1"); code != 0 || d > time.Second {
		t.Errorf("existing file, timeout 1: exit %d after %s: %s", code, d, errOut)
	}
	os.Remove(late)
	if d, errOut, code := timed("(sleep 1.5; touch " + late + ") & waitForFile " + late + " 3; wait"); code != 0 || d < time.Second {
		t.Errorf("file appearing after 1.5 s, timeout 3: exit %d after %s: %s", code, d, errOut)
	}
	d, errOut, code := timed("waitForDirectory " + filepath.Join(u.root, "never") + " 2; echo not reached")
	if code != 1 || d < 2*time.Second || d > 3500*time.Millisecond || !strings.Contains(errOut, "within 2 seconds") {
		t.Errorf("missing directory, timeout 2: exit %d after %s: %s", code, d, errOut)
	}
	if _, errOut, code := u.sh(t, shell, "waitForDirectory "+late+" 5; echo not reached"); code != 1 || !strings.Contains(errOut, "to be a directory") {
		t.Errorf("a file where a directory is expected: exit %d: %s", code, errOut)
	}

	sock := filepath.Join(u.root, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u.mustSh(t, shell, "waitForSocket "+sock+" 1")
	if _, _, code := u.sh(t, shell, "waitForSocket "+late+" 1"); code != 1 {
		t.Errorf("a file where a socket is expected: exit %d", code)
	}

	tl, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)
	u.mustSh(t, shell, "waitForPort "+port+" 1")
	tl.Close()
	if d, _, code := timed("waitForPort " + port + " 1; echo not reached"); code != 1 || d < time.Second {
		t.Errorf("closed port, timeout 1: exit %d after %s", code, d)
	}
}

// TestUtilAttempts: attemptSeveralTimes makes N attempts (upstream made
// N-1).
func TestUtilAttempts(t *testing.T) {
	t.Parallel() // mostly sleeping
	for _, shell := range shells(t) {
		u := newUtilEnv(t)
		counter := filepath.Join(u.root, "count")
		cmd := filepath.Join(u.root, "flaky")
		// Fails twice, then succeeds.
		write(t, cmd, "#!/bin/sh\necho x >> "+counter+"\n[ $(wc -l < "+counter+") -ge 3 ]\n", 0o755)
		u.mustSh(t, shell, "attemptSeveralTimes "+cmd+" 3")
		if data, _ := os.ReadFile(counter); strings.Count(string(data), "x") != 3 {
			t.Errorf("%s: attempts: %q", shell, data)
		}
		os.Remove(counter)
		_, _, code := u.sh(t, shell, "if attemptSeveralTimes "+cmd+" 2; then echo ok; else exit 7; fi")
		if data, _ := os.ReadFile(counter); code != 7 || strings.Count(string(data), "x") != 2 {
			t.Errorf("%s: two attempts of three needed: exit %d, attempts %q", shell, code, data)
		}
	}
}

// disnixTestWrapper is the module of Disnix's snapshot tests
// (tests/snapshots/wrapper.nix), as a component's bin/wrapper, with its
// state under $STATE_ROOT instead of /var/db.
const disnixTestWrapper = `#!/bin/bash -e
source @util@
composeUtilityVariables "wrapper" "testService1" $3
db="$STATE_ROOT/testService1"
case "$1" in
    activate)
        if [ ! -d "$db" ]; then mkdir -p "$db"; echo 0 > "$db/state"; fi
        markComponentAsActive
        ;;
    deactivate)
        markComponentAsGarbage
        ;;
    snapshot)
        tmpdir=$(mktemp -d)
        cd $tmpdir
        cp "$db/state" .
        hash=$(cat state | sha256sum)
        hash=${hash:0:64}
        snapshotsPath=$(composeSnapshotsPath)
        if [ -d $snapshotsPath/$hash ]; then
            rm -Rf $tmpdir
        else
            mkdir -p $snapshotsPath/$hash
            mv state $snapshotsPath/$hash
            rmdir $tmpdir
        fi
        createGenerationSymlink $hash
        ;;
    restore)
        lastSnapshot=$(determineLastSnapshot)
        if [ "$lastSnapshot" != "" ]; then cp $lastSnapshot/state "$db"; fi
        ;;
    collect-garbage)
        if componentMarkedAsGarbage; then
            rm "$db/state"; rmdir "$db"
            unmarkComponentAsGarbage
        fi
        ;;
esac
`

// TestDisnixTestWrapper runs the module of Disnix's snapshot tests, which
// sources the library, through the wrapper type the way Disnix calls it.
func TestDisnixTestWrapper(t *testing.T) {
	u := newUtilEnv(t)
	comp := filepath.Join(u.nixStore, "0123456789abcdfghijklmnpqrsvwxyz-testService1")
	write(t, filepath.Join(comp, "bin", "wrapper"), strings.ReplaceAll(disnixTestWrapper, "@util@", utilLib), 0o755)
	stateRoot := filepath.Join(u.root, "db")
	env := append(u.env, "STATE_ROOT="+stateRoot)
	call := func(op string) {
		t.Helper()
		MustRun(t, env, "dysnomia", "--type", "wrapper", "--operation", op, "--component", comp, "--container", "wrapper", "--environment")
	}
	state := filepath.Join(stateRoot, "testService1", "state")
	call("activate")
	call("snapshot")
	write(t, state, "1\n", 0o644)
	call("snapshot")
	call("snapshot")
	r := MustRun(t, u.env, "dysnomia-snapshots", "--query-all", "--container", "wrapper", "--component", "testService1")
	if lines := strings.Fields(r.Stdout); len(lines) != 2 {
		t.Errorf("--query-all: %q", r.Stdout)
	}
	MustRun(t, u.env, "dysnomia", "snapshots", "check")
	write(t, state, "2\n", 0o644)
	call("restore")
	if data, _ := os.ReadFile(state); string(data) != "1\n" {
		t.Errorf("after restore: %q", data)
	}
	call("deactivate")
	call("collect-garbage")
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state after collect-garbage: %v", err)
	}
	if r := MustRun(t, u.env, "dysnomia-containers", "--query-activated-components"); r.Stdout != "" {
		t.Errorf("still activated: %q", r.Stdout)
	}
}
