package tomcat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// waitForDir waits until dir is a directory: it checks at once and then
// once a second until timeout has passed, the last check at the timeout
// (upstream's wait made only timeout-1 checks). Something at dir that is
// not a directory is an error at once, as is the context's end.
func waitForDir(ctx context.Context, dir string, timeout time.Duration, report ui.Reporter) error {
	deadline := time.Now().Add(timeout)
	for {
		fi, err := os.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return nil
		case err == nil:
			return fmt.Errorf("%s exists but is not a directory", dir)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s did not appear within %s (container property timeout)", dir, timeout)
		}
		report.Infof("waiting for %s to appear (%s left)", dir, left.Round(time.Second))
		step := time.Second
		if left < step {
			step = left
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
	}
}
