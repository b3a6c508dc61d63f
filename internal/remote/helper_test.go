package remote

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

func newStore(t testing.TB) *store.Store {
	t.Helper()
	s := store.Open(filepath.Join(t.TempDir(), "state"))
	s.LockTimeout = 10 * time.Second
	return s
}

func commitText(t testing.TB, s *store.Store, k store.Key, text string) store.Snapshot {
	t.Helper()
	c, err := s.Commit(context.Background(), k, store.Meta{Module: "test"}, func(d *store.Dump) error {
		w, err := d.Create("dump.sql")
		if err != nil {
			return err
		}
		io.WriteString(w, text)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Snapshot
}

func rels(snaps []store.Snapshot) []string {
	out := []string{}
	for _, sn := range snaps {
		out = append(out, sn.Rel())
	}
	return out
}

func generations(t testing.TB, s *store.Store, k store.Key) []string {
	t.Helper()
	gens, err := s.Generations(k)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, g := range gens {
		out = append(out, g.Snapshot.Rel())
	}
	return out
}

// checkStore fails t when the store has any problem.
func checkStore(t testing.TB, s *store.Store) {
	t.Helper()
	r, err := s.Check(context.Background(), store.Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("store check: %v", err)
	}
}

// fakeSSH is an ssh stand-in that runs the remote command line locally,
// the way sshd hands it to the login shell: the words after "HOST --"
// joined with spaces, run by sh -c.
var fakeSSH = []string{"sh", "-c", `[ "$2" = -- ] || { echo "fake ssh: no -- after the host" >&2; exit 99; }; shift 2; exec sh -c "$*"`, "fakessh"}

// writeScript writes an executable shell script.
func writeScript(t testing.TB, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
