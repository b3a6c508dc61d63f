package ejabberd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// workPrefix starts the names of the module's work directories in the
// spool directory: .dysnomia-<pid>-<random>.
const workPrefix = ".dysnomia-"

// workDir makes a private directory in the spool directory, owned by
// ejabberdUser, for the dump files the node writes and reads (the node may
// have a /tmp of its own). It first removes work directories whose process
// is gone. The caller removes it.
func (s *settings) workDir(req *module.Request) (string, error) {
	s.removeStale(req)
	dir, err := os.MkdirTemp(s.spoolDir, workPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("work directory in ejabberdSpoolDir: %w", err)
	}
	if s.user.Switches() {
		if err := os.Chown(dir, int(s.user.UID), int(s.user.GID)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// removeStale removes work directories left by killed runs.
func (s *settings) removeStale(req *module.Request) {
	entries, err := os.ReadDir(s.spoolDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), workPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		p := filepath.Join(s.spoolDir, e.Name())
		req.Report.Warnf("removing %s, left by an interrupted run", p)
		os.RemoveAll(p)
	}
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// writeFile writes data as a file of the work directory, readable by the
// node.
func (s *settings) writeDump(dir string, d *dump) (string, error) {
	p := filepath.Join(dir, "dump")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	werr := d.write(f)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", err
	}
	if s.user.Switches() {
		if err := os.Chown(p, int(s.user.UID), int(s.user.GID)); err != nil {
			return "", err
		}
	}
	return p, nil
}
