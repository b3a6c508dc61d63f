package subversion

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// commitPayload stores a snapshot with the given files as if this module
// had written it.
func commitPayload(t *testing.T, f *fixture, files map[string][]byte) store.Snapshot {
	t.Helper()
	res, err := f.store.Commit(context.Background(), f.key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		for name, data := range files {
			w, err := d.Create(name)
			if err != nil {
				return err
			}
			w.Write(data)
			if err := w.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Snapshot
}

// TestRestoreFailureKeepsRepository: a snapshot that does not load, or
// loads short of its recorded revision, or does not verify, changes
// nothing.
func TestRestoreFailureKeepsRepository(t *testing.T) {
	requireSvn(t)
	full := makeDump(t, map[string]string{"a": "1", "b": "2"})
	cases := map[string]struct {
		files  map[string][]byte
		damage bool
		want   string
	}{
		"cut mid-record":    {files: map[string][]byte{DumpFile: full[:len(full)-30], YoungestFile: []byte("2\n")}, want: "load snapshot"},
		"short of youngest": {files: map[string][]byte{DumpFile: full, YoungestFile: []byte("5\n")}, want: "incomplete"},
		"no youngest":       {files: map[string][]byte{DumpFile: full}, want: "not a subversion-repository snapshot"},
		"damaged":           {files: map[string][]byte{DumpFile: full, YoungestFile: []byte("2\n")}, damage: true, want: "checksum mismatch"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "keep", nil)
			f.must(module.Activate)
			put(t, f.url(), "mine", "precious")
			before := dumpOf(t, f.repo())
			sn := commitPayload(t, f, c.files)
			if c.damage {
				p := filepath.Join(f.store.SnapshotDir(sn), DumpFile+".zst")
				os.Chmod(p, 0o644)
				data, _ := os.ReadFile(p)
				data[len(data)/2] ^= 0xff
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := f.run(module.Restore)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("restore: %v, want an error containing %q", err, c.want)
			}
			if c.damage {
				var ie *store.IntegrityError
				if !errors.As(err, &ie) {
					t.Errorf("restore of a damaged snapshot: %T, want *store.IntegrityError", err)
				}
			}
			if diff := cmp.Diff(string(before), string(dumpOf(t, f.repo()))); diff != "" {
				t.Errorf("a failed restore changed the repository:\n%s", diff)
			}
			if left := f.workLeft(); len(left) != 0 {
				t.Errorf("work files left: %v", left)
			}
		})
	}
}

// TestRestoreKeepsConfAndHooks: a repository's configuration and hook
// scripts are not part of a dump; restore keeps those of the repository it
// replaces.
func TestRestoreKeepsConfAndHooks(t *testing.T) {
	f := newFixture(t, "hooked", nil)
	f.must(module.Activate)
	put(t, f.url(), "a", "1")
	f.must(module.Snapshot)
	hook := filepath.Join(f.repo(), "hooks", "pre-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nexit 0\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(f.repo(), "conf", "svnserve.conf")
	if err := os.WriteFile(conf, []byte("[general]\nanon-access = none\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	f.must(module.Restore)
	fi, err := os.Stat(hook)
	if err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("hook after restore: %v, %v; want mode 0750", fi, err)
	}
	if data, _ := os.ReadFile(conf); !strings.Contains(string(data), "anon-access = none") {
		t.Errorf("svnserve.conf after restore: %q", data)
	}
}
