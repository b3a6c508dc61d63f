package ui

import (
	"fmt"
	"sync"
	"time"
)

// bar draws a progress line on the terminal, at most five times a second:
// "label: 12.3 MiB of 45.6 MiB (27%), 8.1 MiB/s, 4s left", or without a known
// total "label: 12.3 MiB, 8.1 MiB/s".
type bar struct {
	t      *Text
	label  string
	total  int64
	start  time.Time
	mu     sync.Mutex
	n      int64
	drawn  time.Time
	closed bool
}

func newBar(t *Text, label string, total int64) *bar {
	return &bar{t: t, label: label, total: total, start: time.Now()}
}

func (b *bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += n
	if now := time.Now(); now.Sub(b.drawn) > 200*time.Millisecond {
		b.drawn = now
		b.draw("\r")
	}
}

func (b *bar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.draw("\r")
	b.t.mu.Lock()
	fmt.Fprintln(b.t.w)
	b.t.mu.Unlock()
}

func (b *bar) draw(prefix string) {
	line := b.line(time.Since(b.start))
	b.t.mu.Lock()
	fmt.Fprintf(b.t.w, "%sdysnomia: %s\x1b[K", prefix, line)
	b.t.mu.Unlock()
}

// line is what the bar shows after elapsed: "label: done of total (pct),
// rate, ETA" when the total is known, "label: done, rate" otherwise.
func (b *bar) line(elapsed time.Duration) string {
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(b.n) / secs
	}
	if b.total <= 0 {
		return fmt.Sprintf("%s: %s, %s/s", b.label, Bytes(b.n), Bytes(int64(rate)))
	}
	pct := float64(b.n) * 100 / float64(b.total)
	eta := "done"
	switch {
	case b.n >= b.total:
	case rate > 0:
		left := time.Duration(float64(b.total-b.n) / rate * float64(time.Second))
		eta = duration(left) + " left"
	default:
		eta = "time left unknown"
	}
	return fmt.Sprintf("%s: %s of %s (%.0f%%), %s/s, %s", b.label, Bytes(b.n), Bytes(b.total), min(pct, 100), Bytes(int64(rate)), eta)
}

// duration rounds d for a progress line: 42s, 3m05s, 1h02m.
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Bytes formats a byte count with a binary unit.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
