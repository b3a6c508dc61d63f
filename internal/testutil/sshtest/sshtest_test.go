package sshtest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestHost(t *testing.T) {
	h := Start(t, Options{Env: []string{"PATH=/usr/bin:/bin", "GREETING=hello there"}})
	ssh := func(timeout time.Duration, args ...string) (string, error) {
		cmd := exec.Command("ssh", append([]string{"-F", h.ConfigFile, h.Name, "--"}, args...)...)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(timeout):
			cmd.Process.Kill()
			<-done
			t.Fatalf("ssh %v: no answer in %v", args, timeout)
		}
		return strings.TrimSpace(string(out)), err
	}
	out, err := ssh(20*time.Second, `echo "$GREETING"; ip -o addr show | grep -c 'inet '`)
	if err != nil {
		t.Fatalf("ssh: %v: %s\nsshd log:\n%s", err, out, h.Log())
	}
	// Inside the namespace: loopback and the peer only.
	if out != "hello there\n2" {
		t.Errorf("the session printed %q", out)
	}
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if out, err := ssh(20*time.Second, "true"); err == nil {
		t.Errorf("ssh over a cut link succeeded: %s", out)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	if out, err := ssh(20*time.Second, "true"); err != nil {
		t.Errorf("ssh after the link came back: %v: %s", err, out)
	}
	ns := h.NS
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), ns) {
		t.Errorf("namespace %s left behind", ns)
	}
}
