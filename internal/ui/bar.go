package ui

import (
	"fmt"
	"sync"
	"time"
)

// bar draws "label: 12.3 MiB of 1.0 GiB (45.6 MiB/s, ETA 22s)" on one
// terminal line (without a total: no "of" and no ETA), at most
// a few times per second.
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
	secs := time.Since(b.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(b.n) / secs
	}
	total, eta := "", ""
	if b.total >= 0 {
		total = " of " + Bytes(b.total)
		if left := b.total - b.n; left > 0 && rate > 0 && !b.closed {
			eta = ", ETA " + time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second).String()
		}
	}
	b.t.mu.Lock()
	fmt.Fprintf(b.t.w, "%sdysnomia: %s: %s%s (%s/s%s)\x1b[K", prefix, b.label, Bytes(b.n), total, Bytes(int64(rate)), eta)
	b.t.mu.Unlock()
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
