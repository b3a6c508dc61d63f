package tomcat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// waitForDir waits until dir is a directory, for exactly timeout (the last
// check at the timeout: upstream's wait gave up a second early).
// Something at dir that is not a directory is an error at once, as is the
// context's end.
func waitForDir(ctx context.Context, dir string, timeout time.Duration, report ui.Reporter) error {
	isDir := func() (bool, error) {
		fi, err := os.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return true, nil
		case err == nil:
			return false, fmt.Errorf("%s exists but is not a directory", dir)
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		}
		return false, err
	}
	if ok, err := isDir(); ok || err != nil {
		return err
	}
	report.Infof("waiting up to %s for %s to appear", timeout, dir)
	ok, err := service.WaitFor(ctx, timeout, isDir)
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("%s did not appear within %s (container property timeout)", dir, timeout)
}
