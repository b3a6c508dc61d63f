package program

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), []byte(""), 0o644)
	if p, err := Find([]string{"PATH=relative:" + dir}, "tool"); err != nil || p != exe {
		t.Errorf("Find tool = %q, %v", p, err)
	}
	if _, err := Find([]string{"PATH=" + dir}, "plain"); err == nil {
		t.Error("a file that is not executable was found")
	}
	if _, err := Find([]string{"PATH=."}, "tool"); err == nil {
		t.Error("a relative PATH entry was searched")
	}
}

func TestRunError(t *testing.T) {
	cmd := Command(context.Background(), nil, nil, "/bin/sh", "-c", "echo bad thing >&2; exit 3")
	err := cmd.Run()
	if err == nil || !strings.Contains(err.Error(), "sh failed (exit status 3): bad thing") {
		t.Errorf("err = %v", err)
	}
}

// TestKillGroup: a cancelled command's children die too, so the run ends
// at the deadline rather than when a child lets go of the output.
func TestKillGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cmd := Command(ctx, nil, nil, "/bin/sh", "-c", "sleep 30; echo done")
	cmd.KillGroup()
	start := time.Now()
	_, err := cmd.Output()
	if err == nil {
		t.Fatal("no error from a killed command")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s after the deadline; the child held the pipe", d)
	}
}

func TestUserEnviron(t *testing.T) {
	u := &User{Name: "svc", Home: "/var/lib/svc"}
	got := u.environ([]string{"HOME=/root", "PATH=/bin", "USER=root"})
	want := "PATH=/bin HOME=/var/lib/svc USER=svc LOGNAME=svc"
	if strings.Join(got, " ") != want {
		t.Errorf("environ = %v, want %s", got, want)
	}
}
