package subversion

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// TestUpstreamScenario is upstream's subversion-repository test: a dump
// with index.php, then snapshots, garbage collection and restore.
func TestUpstreamScenario(t *testing.T) {
	requireSvn(t)
	initial := makeDump(t, map[string]string{"index.php": "<?php echo 'hello'; ?>\n"})
	f := newFixture(t, "testrepos", map[string][]byte{"testrepos.dump": initial})

	f.must(module.Activate)
	if diff := cmp.Diff([]string{"index.php"}, files(t, f.url())); diff != "" {
		t.Fatalf("after activate (-want +got):\n%s", diff)
	}
	put(t, f.url(), "extra.txt", "x") // a second activate must keep it
	f.must(module.Activate)
	if diff := cmp.Diff([]string{"extra.txt", "index.php"}, files(t, f.url())); diff != "" {
		t.Fatalf("a second activate changed the repository (-want +got):\n%s", diff)
	}

	f.must(module.Snapshot)
	f.must(module.Snapshot)
	if n := len(f.generations()); n != 1 {
		t.Fatalf("generations after two snapshots of the same repository = %d, want 1", n)
	}
	put(t, f.url(), "hello.php", "<?php echo 'bye'; ?>\n")
	f.must(module.Snapshot)
	gens := f.generations()
	if len(gens) != 2 {
		t.Fatalf("generations after a commit = %d, want 2", len(gens))
	}

	f.must(module.CollectGarbage)
	if _, err := os.Stat(f.repo()); err != nil {
		t.Fatalf("gc of an active component removed the repository: %v", err)
	}
	f.must(module.Deactivate)
	f.must(module.Deactivate)
	f.must(module.CollectGarbage)
	if _, err := os.Stat(f.repo()); !os.IsNotExist(err) {
		t.Fatalf("the repository is still there after deactivate and gc: %v", err)
	}
	if left := f.workLeft(); len(left) != 0 {
		t.Errorf("gc left work files: %v", left)
	}

	f.must(module.Activate)
	if diff := cmp.Diff([]string{"index.php"}, files(t, f.url())); diff != "" {
		t.Fatalf("activate after gc is not the initial dump (-want +got):\n%s", diff)
	}
	f.must(module.Restore)
	if diff := cmp.Diff([]string{"extra.txt", "hello.php", "index.php"}, files(t, f.url())); diff != "" {
		t.Fatalf("after restore (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(f.payload(gens[1].Snapshot, DumpFile)), string(dumpOf(t, f.repo()))); diff != "" {
		t.Errorf("the restored repository's dump differs from the snapshot (-snapshot +restored):\n%s", diff)
	}
	// The restored history is the snapshot's exactly: its dump is the same,
	// so a snapshot now is the same snapshot.
	f.must(module.Snapshot)
	after := f.generations()
	if len(after) != 2 || after[1].Snapshot.ID != gens[1].Snapshot.ID {
		t.Errorf("snapshot after restore: generations %v, want the same 2", after)
	}
	if left := f.workLeft(); len(left) != 0 {
		t.Errorf("restore left work files: %v", left)
	}
}

// TestRestoreExact: a restore brings back the snapshot's revisions,
// revision properties and UUID, and drops later commits.
func TestRestoreExact(t *testing.T) {
	f := newFixture(t, "exact", nil)
	f.must(module.Activate)
	put(t, f.url(), "a", "1")
	put(t, f.url(), "b", "2")
	f.must(module.Snapshot)
	sn := f.generations()[0].Snapshot
	want := dumpOf(t, f.repo())
	if got := strings.TrimSpace(string(f.payload(sn, YoungestFile))); got != "2" {
		t.Errorf("youngest in the snapshot = %q, want 2", got)
	}

	put(t, f.url(), "c", "3")
	logFile := filepath.Join(t.TempDir(), "log")
	os.WriteFile(logFile, []byte("changed"), 0o644)
	svnRun(t, "svnadmin", "setlog", "--bypass-hooks", "-r", "1", f.repo(), logFile)
	f.must(module.Snapshot)
	if n := len(f.generations()); n != 2 {
		t.Fatalf("generations = %d, want 2", n)
	}

	req := f.request(module.Restore)
	req.Snapshot = sn.Rel()
	if err := (Module{}).Run(context.Background(), req); err != nil {
		t.Fatalf("restore %s: %v\n%s", sn.Rel(), err, f.rep)
	}
	if diff := cmp.Diff(string(want), string(dumpOf(t, f.repo()))); diff != "" {
		t.Errorf("restored repository (-snapshot +restored):\n%s", diff)
	}
	if got := svnRun(t, "svnlook", "youngest", f.repo()); strings.TrimSpace(got) != "2" {
		t.Errorf("youngest after restore = %q, want 2", got)
	}
}

// TestNames: component names and base directories with quotes, spaces and
// other shell metacharacters reach the programs intact.
func TestNames(t *testing.T) {
	requireSvn(t)
	initial := makeDump(t, map[string]string{"it's.txt": "quoted"})
	for _, name := range []string{`it's a "repo"`, "semi;colon $(x) `y`", "-dash", "ünïcode ☃"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, name, map[string][]byte{"a dump's name": initial})
			f.must(module.Activate)
			if got := cat(t, f.url(), "it's.txt"); got != "quoted" {
				t.Fatalf("content = %q", got)
			}
			f.must(module.Snapshot)
			put(t, f.url(), "more", "x")
			f.must(module.Restore)
			if diff := cmp.Diff([]string{"it's.txt"}, files(t, f.url())); diff != "" {
				t.Errorf("after restore (-want +got):\n%s", diff)
			}
			f.must(module.Deactivate)
			f.must(module.CollectGarbage)
			if _, err := os.Stat(f.repo()); !os.IsNotExist(err) {
				t.Errorf("repository still there: %v", err)
			}
		})
	}
}

// TestFailingInitDump: a dump that does not load leaves no repository, no
// work files and no activation marker, and the error names the file.
func TestFailingInitDump(t *testing.T) {
	requireSvn(t)
	good := makeDump(t, map[string]string{"a": "1", "b": "2"})
	for name, dump := range map[string][]byte{
		"truncated": good[:len(good)-40],
		"garbage":   []byte("this is not a dump\n"),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "broken", map[string][]byte{"broken.dump": dump})
			err := f.run(module.Activate)
			if err == nil || !strings.Contains(err.Error(), "broken.dump") {
				t.Fatalf("activate: %v, want an error naming broken.dump", err)
			}
			if _, err := os.Stat(f.repo()); !os.IsNotExist(err) {
				t.Errorf("a repository is there after a failed activation: %v", err)
			}
			if left := f.workLeft(); len(left) != 0 {
				t.Errorf("work files left: %v", left)
			}
			if active, _ := f.store.IsActive(f.key()); active {
				t.Error("the component is marked active")
			}
		})
	}
}

// TestSplitDump: the files of subversion-repositories/ are one stream, in
// name order, as upstream concatenates them.
func TestSplitDump(t *testing.T) {
	requireSvn(t)
	dump := makeDump(t, map[string]string{"a": "1", "b": "2"})
	half := len(dump) / 2
	f := newFixture(t, "split", map[string][]byte{"part-1": dump[:half], "part-2": dump[half:]})
	f.must(module.Activate)
	if diff := cmp.Diff(string(dump), string(dumpOf(t, f.repo()))); diff != "" {
		t.Errorf("(-dump +loaded):\n%s", diff)
	}
}

// TestGroup: svnGroup gives the repository's files the group, group write
// permission, and db/ the set-group-id bit, on activate and on restore.
func TestGroup(t *testing.T) {
	requireSvn(t)
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to one we are not in needs root")
	}
	gid, err := lookupGroup("users")
	if err != nil {
		t.Skipf("no group users: %v", err)
	}
	f := newFixture(t, "grouped", nil)
	f.set("svnGroup", "users")
	check := func(when string) {
		t.Helper()
		var bad []string
		filepath.Walk(f.repo(), func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			st := fi.Sys()
			if g := statGid(st); g != gid || fi.Mode().Perm()&0o020 == 0 {
				bad = append(bad, p)
			}
			return nil
		})
		if len(bad) > 0 {
			t.Errorf("%s: files without group users or g+w: %v", when, bad)
		}
		if fi, err := os.Stat(filepath.Join(f.repo(), "db")); err != nil || fi.Mode()&os.ModeSetgid == 0 {
			t.Errorf("%s: db/ is not set-group-id: %v %v", when, fi.Mode(), err)
		}
	}
	f.must(module.Activate)
	check("activate")
	put(t, f.url(), "a", "1")
	f.must(module.Snapshot)
	f.must(module.Restore)
	check("restore")
}

// TestBadSettings: bad properties and names are refused before anything
// is created.
func TestBadSettings(t *testing.T) {
	requireSvn(t)
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"repo", map[string]string{"svnBaseDir": ""}, "svnBaseDir is not set"},
		{"repo", map[string]string{"svnBaseDir": "relative/dir"}, "absolute"},
		{"repo", map[string]string{"svnGroup": "no-such-group-dysnomia"}, "svnGroup"},
		{".dysnomia", nil, "reserved"},
	}
	for _, c := range cases {
		f := newFixture(t, c.name, nil)
		for k, v := range c.props {
			f.set(k, v)
		}
		for _, a := range []module.Activity{module.Activate, module.Snapshot, module.Restore} {
			err := f.run(a)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name) {
				t.Errorf("%s %v with %v: %v, want an error naming the component and containing %q", a, c.name, c.props, err, c.want)
			}
		}
		if _, err := os.Stat(f.base); !os.IsNotExist(err) {
			t.Errorf("%v: the base directory was created", c.props)
		}
	}
}

// TestNotARepository: a directory in the repository's place that is not a
// repository is neither taken as initialised nor removed.
func TestNotARepository(t *testing.T) {
	f := newFixture(t, "plain", nil)
	mustMkdir(t, f.repo())
	os.WriteFile(filepath.Join(f.repo(), "keep"), []byte("x"), 0o644)
	if err := f.run(module.Activate); err == nil || !strings.Contains(err.Error(), "not a Subversion repository") {
		t.Fatalf("activate: %v", err)
	}
	// Marked active and then garbage by hand: gc must still refuse.
	if err := f.store.MarkActive(f.key(), f.comp.Path); err != nil {
		t.Fatal(err)
	}
	f.must(module.Deactivate)
	if err := f.run(module.CollectGarbage); err == nil {
		t.Fatal("gc removed a directory that is not a repository")
	}
	if _, err := os.Stat(filepath.Join(f.repo(), "keep")); err != nil {
		t.Fatal(err)
	}
}

// TestLock: lock refuses while another activity holds the repository's
// lock, and succeeds otherwise; a waiting activity proceeds once it is
// released, after removing a killed run's leftovers.
func TestLock(t *testing.T) {
	f := newFixture(t, "locked", nil)
	f.must(module.Lock) // never used: nothing to fence off
	f.must(module.Activate)
	f.must(module.Lock)
	s, err := settingsOf(f.request(module.Lock))
	if err != nil {
		t.Fatal(err)
	}
	release, err := lockRepo(context.Background(), f.request(module.Restore), s, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.run(module.Lock); err == nil || !strings.Contains(err.Error(), "refusing to lock") {
		t.Errorf("lock while held: %v", err)
	}
	// A killed restore's leftover.
	mustMkdir(t, filepath.Join(s.work, newName, "db"))
	done := make(chan error, 1)
	go func() { done <- f.run(module.Snapshot) }()
	select {
	case err := <-done:
		t.Fatalf("snapshot did not wait for the lock: %v", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.must(module.Lock)
	f.must(module.Restore)
	if left := f.workLeft(); len(left) != 0 {
		t.Errorf("leftovers not removed: %v", left)
	}
	if !strings.Contains(f.rep.String(), "interrupted") {
		t.Errorf("no warning about the leftover:\n%s", f.rep)
	}
}

// TestUpstreamSnapshot: a snapshot as upstream stores it (SP/<rev>/dump.xz,
// holding `svnadmin dump -r <rev>`) restores as that revision's tree.
func TestUpstreamSnapshot(t *testing.T) {
	f := newFixture(t, "old", nil)
	f.must(module.Activate)
	put(t, f.url(), "a", "1")
	put(t, f.url(), "b", "2")
	dump := svnRun(t, "svnadmin", "dump", "--quiet", "-r", "2", f.repo())
	dir := filepath.Join(t.TempDir(), "2")
	mustMkdir(t, dir)
	var buf bytes.Buffer
	w, _ := xz.NewWriter(&buf)
	w.Write([]byte(dump))
	w.Close()
	if err := os.WriteFile(filepath.Join(dir, "dump.xz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Add(context.Background(), f.key(), dir); err != nil {
		t.Fatal(err)
	}
	put(t, f.url(), "c", "3")
	f.must(module.Restore)
	if diff := cmp.Diff([]string{"a", "b"}, files(t, f.url())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(f.rep.String(), "upstream") {
		t.Errorf("no warning about upstream's snapshot:\n%s", f.rep)
	}
}

// TestNoSnapshot: restore without any snapshot does nothing.
func TestNoSnapshot(t *testing.T) {
	f := newFixture(t, "none", nil)
	f.must(module.Activate)
	put(t, f.url(), "a", "1")
	f.must(module.Restore)
	if diff := cmp.Diff([]string{"a"}, files(t, f.url())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := f.run(module.Snapshot); err != nil {
		t.Fatal(err)
	}
	f2 := newFixture(t, "missing", nil)
	if err := f2.run(module.Snapshot); err == nil || !strings.Contains(err.Error(), "activate the component first") {
		t.Errorf("snapshot of a missing repository: %v", err)
	}
}
