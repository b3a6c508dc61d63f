package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarTotalAndETA(t *testing.T) {
	var out bytes.Buffer
	b := newBar(NewText(&out, true), "push to db2", 100<<20)
	b.start = time.Now().Add(-10 * time.Second) // 25 MiB in 10 s: 75 MiB left take 30 s
	b.Add(25 << 20)
	line := out.String()
	for _, want := range []string{"push to db2: 25.0 MiB of 100.0 MiB", "(2.5 MiB/s, ETA 30s)"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	b.Close()
	if last := out.String()[len(line):]; strings.Contains(last, "ETA") {
		t.Errorf("final line %q still has an ETA", last)
	}
}

func TestBarWithoutTotal(t *testing.T) {
	var out bytes.Buffer
	b := newBar(NewText(&out, true), "import", -1)
	b.Add(2048)
	if s := out.String(); strings.Contains(s, " of ") || strings.Contains(s, "ETA") {
		t.Errorf("progress without a total printed %q", s)
	}
}
