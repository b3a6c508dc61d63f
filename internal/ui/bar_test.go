package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarLine(t *testing.T) {
	for _, tc := range []struct {
		n, total int64
		elapsed  time.Duration
		want     string
	}{
		{0, -1, 0, "x: 0 B, 0 B/s"},
		{3 << 20, -1, time.Second, "x: 3.0 MiB, 3.0 MiB/s"},
		{256 << 20, 1 << 30, 2 * time.Second, "x: 256.0 MiB of 1.0 GiB (25%), 128.0 MiB/s, 6s left"},
		{100 << 20, 1000 << 20, 10 * time.Second, "x: 100.0 MiB of 1000.0 MiB (10%), 10.0 MiB/s, 1m30s left"},
		{1 << 20, 10 << 30, 30 * time.Second, "x: 1.0 MiB of 10.0 GiB (0%), 34.1 KiB/s, 85h19m left"},
		{0, 1 << 20, 0, "x: 0 B of 1.0 MiB (0%), 0 B/s, time left unknown"},
		{2 << 20, 1 << 20, time.Second, "x: 2.0 MiB of 1.0 MiB (100%), 2.0 MiB/s, done"},
	} {
		b := &bar{label: "x", total: tc.total, n: tc.n}
		if got := b.line(tc.elapsed); got != tc.want {
			t.Errorf("n=%d total=%d after %s: %q, want %q", tc.n, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

func TestTextQuietAndPipe(t *testing.T) {
	var buf bytes.Buffer
	r := NewText(&buf, true)
	r.Quiet = true
	r.Infof("note")
	c := r.Progress("p", 10)
	c.Add(5)
	c.Close()
	r.Warnf("look")
	if got := buf.String(); got != "dysnomia: warning: look\n" {
		t.Errorf("quiet: %q", got)
	}
	buf.Reset()
	r = NewText(&buf, false) // a pipe: notes, no progress
	r.Infof("note")
	c = r.Progress("p", 10)
	c.Add(5)
	c.Close()
	if got := buf.String(); got != "dysnomia: note\n" || strings.Contains(got, "\r") {
		t.Errorf("pipe: %q", got)
	}
}
