package service

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWaitForLastsItsTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, 300 * time.Millisecond} {
		start := time.Now()
		calls := 0
		ok, err := WaitFor(context.Background(), timeout, func() (bool, error) { calls++; return false, nil })
		el := time.Since(start)
		if ok || err != nil || el < timeout || el > timeout+200*time.Millisecond {
			t.Errorf("timeout %s: ok %v, err %v after %s; want false after the timeout", timeout, ok, err, el)
		}
		if calls < 1 || (timeout > 0 && calls < 2) {
			t.Errorf("timeout %s: %d checks; want one at the start and one at the deadline at least", timeout, calls)
		}
	}
	n := 0
	ok, _ := WaitFor(context.Background(), time.Minute, func() (bool, error) { n++; return n == 3, nil })
	if !ok || n != 3 {
		t.Errorf("ok %v after %d checks; want true after 3", ok, n)
	}
}

func TestAliveAndPidFiles(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	// A child that has exited but is not reaped yet is a zombie: gone.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Wait() })
	ok, _ := WaitFor(context.Background(), 5*time.Second, func() (bool, error) { return !Alive(z.Process.Pid), nil })
	if !ok {
		t.Error("an exited, unreaped child counts as alive")
	}

	dir := t.TempDir()
	for content, want := range map[string]int{"123\n": 123, "  77 extra\n": 77} {
		p := filepath.Join(dir, "x.pid")
		os.WriteFile(p, []byte(content), 0o644)
		if pid, ok, err := ReadPid(p); err != nil || !ok || pid != want {
			t.Errorf("ReadPid(%q) = %d, %v, %v; want %d", content, pid, ok, err, want)
		}
	}
	os.WriteFile(filepath.Join(dir, "bad.pid"), []byte("-1"), 0o644)
	if _, ok, err := ReadPid(filepath.Join(dir, "bad.pid")); !ok || err == nil {
		t.Errorf("bad pid file: ok %v, err %v; want an error", ok, err)
	}
	if _, ok, err := ReadPid(filepath.Join(dir, "none.pid")); ok || err != nil {
		t.Errorf("missing pid file: ok %v, err %v", ok, err)
	}
}

func TestLinks(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "comp", "conf.d")
	other := filepath.Join(root, "comp2", "conf.d")
	for _, d := range []string{src, other} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "a.conf"), nil, 0o644)
		os.WriteFile(filepath.Join(d, "b.conf"), nil, 0o644)
	}
	target := filepath.Join(root, "target", "deep")
	names, err := Entries(src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.conf", "b.conf"}, names); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if err := LinkInto(src, target, names); err != nil {
		t.Fatal(err)
	}
	if err := LinkInto(src, target, names); err != nil { // replaces its own links
		t.Fatal(err)
	}
	// Another version takes b.conf over; unlinking the first keeps it.
	if err := LinkInto(other, target, []string{"b.conf"}); err != nil {
		t.Fatal(err)
	}
	if err := UnlinkFrom(src, target, names); err != nil {
		t.Fatal(err)
	}
	left, _ := Entries(target)
	if diff := cmp.Diff([]string{"b.conf"}, left); diff != "" {
		t.Errorf("left after unlinking (-want +got):\n%s", diff)
	}
	if !PointsInto(filepath.Join(target, "b.conf"), other) {
		t.Error("b.conf no longer points into the other version")
	}
	os.WriteFile(filepath.Join(target, "a.conf"), []byte("mine"), 0o644)
	if err := LinkInto(src, target, names); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("a regular file in the way: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(target, "a.conf")); string(data) != "mine" {
		t.Error("the regular file was replaced")
	}
}
