package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TempDir creates a private work directory under <statedir>/tmp for an
// unfinished write: a snapshot being dumped, an import being received. It is
// on the store's file system, so its content can be renamed into place. Its
// name carries the pid of its owner; gc removes the work directories of
// processes that no longer exist. The caller removes it when done.
func (s *Store) TempDir(what string) (string, error) {
	tmp := s.path("tmp")
	if err := s.mkdirAll(tmp); err != nil {
		return "", fmt.Errorf("create work directory: %w", err)
	}
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("%s-%d-", what, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("create work directory: %w", err)
	}
	return dir, nil
}

// StaleTemp lists the work directories under tmp/ whose owning process is
// gone, as paths.
func (s *Store) StaleTemp() ([]string, error) {
	names, err := readDirNames(s.path("tmp"))
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, name := range names {
		if pid, ok := tempOwner(name); !ok || !processAlive(pid) {
			stale = append(stale, s.path("tmp", name))
		}
	}
	return stale, nil
}

// tempOwner parses the pid out of a work directory name "<what>-<pid>-<random>".
func tempOwner(name string) (int, bool) {
	parts := strings.Split(name, "-")
	if len(parts) < 3 {
		return 0, false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// processAlive reports whether a process with this pid exists on this host.
// A reused pid counts as alive: the directory is then kept a little longer,
// which is harmless.
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// removeTemp removes a work directory. Snapshot payloads in it may be large
// and deep; failures are reported but never fatal to the caller.
func removeTemp(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", filepath.Base(dir), err)
	}
	return nil
}
