package subversion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// restore loads a snapshot into a new repository and exchanges it with the
// old one. Until the exchange the old repository is not touched.
func restore(ctx context.Context, req *module.Request, s *settings) error {
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("no snapshot of %s; nothing to restore", req.Key())
		return nil
	}
	payload, err := req.Store.Read(ctx, sn) // verifies the checksum
	if err != nil {
		return err
	}
	dumpName, want, err := payloadFiles(payload)
	if err != nil {
		return err
	}
	if _, err := isRepo(s.repo); err != nil {
		return err
	}
	release, err := lockRepo(ctx, req, s, true)
	if err != nil {
		return err
	}
	defer release()
	exists, err := isRepo(s.repo)
	if err != nil {
		return err
	}

	work := filepath.Join(s.work, newName)
	defer os.RemoveAll(work) // the new repository on failure, the old one on success
	if err := s.create(ctx, work); err != nil {
		return err
	}
	r, err := payload.Open(dumpName)
	if err != nil {
		return err
	}
	req.Report.Infof("loading snapshot %s into a new repository", sn.Rel())
	// Our own dumps come from a repository that accepted their properties;
	// revision properties older Subversion let in (svn:log with CR line
	// endings) would fail the checks of a new load.
	err = s.svnadmin(ctx, r, nil, "load", "--quiet", "--bypass-prop-validation", "--", work)
	r.Close()
	if err != nil {
		return fmt.Errorf("load snapshot %s (the repository was not changed): %w", sn.Rel(), err)
	}
	if want >= 0 {
		got, err := s.youngest(ctx, work)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("snapshot %s loaded up to revision %d, but it recorded revision %d: the dump is incomplete (the repository was not changed)", sn.Rel(), got, want)
		}
	} else {
		req.Report.Warnf("snapshot %s is upstream's: only its youngest revision, as revision 1 of the restored repository", sn.Rel())
	}
	if exists {
		for _, sub := range []string{"conf", "hooks"} {
			if err := replaceTree(filepath.Join(s.repo, sub), filepath.Join(work, sub)); err != nil {
				return fmt.Errorf("keep the repository's %s/: %w", sub, err)
			}
		}
	}
	if err := applyGroup(work, s.gid); err != nil {
		return fmt.Errorf("apply svnGroup %s: %w", s.group, err)
	}
	if err := swapIn(work, s.repo, exists); err != nil {
		return err
	}
	req.Report.Infof("restored repository %s from snapshot %s", s.repo, sn.Rel())
	return nil
}

// payloadFiles names the snapshot's dump and the revision it recorded (-1
// for upstream's snapshots, which record none).
func payloadFiles(p *store.Payload) (dump string, youngest int, err error) {
	switch {
	case p.Has(DumpFile) && p.Has(YoungestFile):
		r, err := p.Open(YoungestFile)
		if err != nil {
			return "", 0, err
		}
		data, err := io.ReadAll(io.LimitReader(r, 64))
		r.Close()
		if err != nil {
			return "", 0, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("snapshot %s: %s holds %q, not a revision number", p.Rel(), YoungestFile, data)
		}
		return DumpFile, n, nil
	case p.Has(upstreamDump) && len(p.Files()) == 1:
		return upstreamDump, -1, nil
	}
	return "", 0, fmt.Errorf("snapshot %s is not a %s snapshot (it holds: %s)", p.Rel(), Type, strings.Join(p.Files(), ", "))
}

// swapIn puts the repository work at repo: exchanged atomically with the
// existing one, which is then at work, or renamed when there is none.
func swapIn(work, repo string, exists bool) error {
	if !exists {
		if err := os.Rename(work, repo); err != nil {
			return err
		}
		return syncDir(filepath.Dir(repo))
	}
	err := unix.Renameat2(unix.AT_FDCWD, work, unix.AT_FDCWD, repo, unix.RENAME_EXCHANGE)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) {
		// No RENAME_EXCHANGE on this file system: three renames, with a
		// moment in which the repository is absent.
		aside := filepath.Join(filepath.Dir(work), oldName)
		if err := os.Rename(repo, aside); err != nil {
			return err
		}
		if err := os.Rename(work, repo); err != nil {
			if rerr := os.Rename(aside, repo); rerr != nil {
				return fmt.Errorf("%w; putting the old repository back failed too: %v (it is at %s)", err, rerr, aside)
			}
			return err
		}
		err = os.Rename(aside, work)
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: work, New: repo, Err: err}
	}
	if err := syncDir(filepath.Dir(repo)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(work))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
