// Package wait polls for a server to become ready within a fixed time.
package wait

import (
	"context"
	"fmt"
	"time"
)

// Interval is the pause between two attempts.
const Interval = 250 * time.Millisecond

// Until calls probe until it returns nil, for at most timeout: each attempt
// gets a context whose deadline is the end of the whole wait, so a server
// that accepts a connection and then never answers cannot stretch the wait
// beyond timeout. At least one attempt is made. notify, when not nil, is
// called once, after the first failed attempt (for a "waiting for …" line).
// The error wraps the last attempt's error.
func Until(ctx context.Context, timeout time.Duration, probe func(context.Context) error, notify func(error)) error {
	deadline := time.Now().Add(timeout)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	for attempt := 0; ; attempt++ {
		last = probe(wctx)
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == 0 && notify != nil {
			notify(last)
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		select {
		case <-wctx.Done():
		case <-time.After(min(Interval, left)):
		}
		if time.Until(deadline) <= 0 {
			break
		}
	}
	return fmt.Errorf("not ready within %s: %w", timeout, last)
}
