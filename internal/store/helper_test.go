package store

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary act as a second process: with
// STORE_TEST_CHILD set it runs that child role instead of the tests.
func TestMain(m *testing.M) {
	if role := os.Getenv("STORE_TEST_CHILD"); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// child starts the test binary in a child role with extra environment.
func child(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "STORE_TEST_CHILD="+role), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s := Open(filepath.Join(t.TempDir(), "state"))
	s.LockTimeout = 10 * time.Second
	s.Version = "test"
	return s
}

// commitText commits text as the single payload file dump.sql of k.
func commitText(t testing.TB, s *Store, k Key, text string) Committed {
	t.Helper()
	c, err := s.Commit(context.Background(), k, Meta{Module: "test"}, func(d *Dump) error {
		w, err := d.Create("dump.sql")
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, text); err != nil {
			return err
		}
		return w.Close()
	})
	if err != nil {
		t.Fatalf("commit %s: %v", k, err)
	}
	return c
}

// readText restores the dump.sql of sn through Read.
func readText(t testing.TB, s *Store, sn Snapshot) string {
	t.Helper()
	p, err := s.Read(context.Background(), sn)
	if err != nil {
		t.Fatalf("read %s: %v", sn.Rel(), err)
	}
	r, err := p.Open("dump.sql")
	if err != nil {
		t.Fatalf("open dump.sql of %s: %v", sn.Rel(), err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read dump.sql of %s: %v", sn.Rel(), err)
	}
	return string(data)
}

// gensOf lists the generations of k as "N=id" strings.
func gensOf(t testing.TB, s *Store, k Key) []string {
	t.Helper()
	gens, err := s.Generations(k)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, g := range gens {
		out = append(out, strconv.Itoa(g.N)+"="+g.Snapshot.ID)
	}
	return out
}

// entries lists a directory's names, or nil when it does not exist.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// flipByte inverts one byte in the middle of file.
func flipByte(t testing.TB, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatalf("%s is empty", file)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func isIntegrity(err error) bool {
	var ie *IntegrityError
	return errors.As(err, &ie)
}
