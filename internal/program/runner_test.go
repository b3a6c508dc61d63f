package program

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLookAndRun(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "greet")
	os.WriteFile(prog, []byte("#!/bin/sh\necho \"hello $1\"\necho oops >&2\nexit \"${2:-0}\"\n"), 0o755)
	env := []string{"PATH=/nonexistent:" + dir}
	if p, err := Look(env, "greet"); err != nil || p != prog {
		t.Fatalf("Look = %q, %v", p, err)
	}
	if _, err := Look(env, "missing"); err == nil || !strings.Contains(err.Error(), "missing not found") {
		t.Errorf("Look(missing) = %v", err)
	}
	out, err := Runner{Env: env}.Output(context.Background(), "greet", "a b")
	if err != nil || string(out) != "hello a b\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}
	_, err = Runner{Env: env}.Output(context.Background(), "greet", "x", "3")
	var te *Error
	if !errors.As(err, &te) || te.Status != 3 || !strings.Contains(err.Error(), `greet x 3: exit status 3: oops`) {
		t.Errorf("failing Output: %v", err)
	}
	if st, err := (Runner{Env: env}).Status(context.Background(), "greet", "x", "4"); st != 4 || err != nil {
		t.Errorf("Status = %d, %v", st, err)
	}
	if q := Quote([]string{"a", "b c", ""}); q != `a "b c" ""` {
		t.Errorf("Quote = %s", q)
	}
}

// TestDaemonKeepingOutput: a program that leaves a child holding its
// output streams counts by its own exit, within the wait delay.
func TestDaemonKeepingOutput(t *testing.T) {
	var out bytes.Buffer
	r := Runner{Env: []string{"PATH=/usr/bin:/bin"}, Stdout: &out, Stderr: &out}
	start := time.Now()
	err := r.Run(context.Background(), "sh", "-c", "sleep 4 & echo started")
	if err != nil || time.Since(start) > waitDelay+time.Second {
		t.Fatalf("Run = %v after %s; want success within the wait delay", err, time.Since(start))
	}
	if !strings.Contains(out.String(), "started") {
		t.Errorf("output %q", out.String())
	}
}
