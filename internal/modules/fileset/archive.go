package fileset

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// roots drops directories nested in another listed directory: archiving and
// swapping the outer one covers them.
func roots(dirs []string) []string {
	sorted := append([]string(nil), dirs...)
	sort.Strings(sorted)
	var out []string
	for _, d := range sorted {
		nested := false
		for _, r := range out {
			if d == r || strings.HasPrefix(d, r+"/") || r == "." {
				nested = true
				break
			}
		}
		if !nested {
			out = append(out, d)
		}
	}
	return out
}

// writeTar archives the directories (relative to base) in a deterministic
// form: entries sorted by path, numeric owners without names, modification
// times to the second, no access or change times. Unchanged files give
// byte-identical archives.
func writeTar(w io.Writer, base string, dirs []string) error {
	tw := tar.NewWriter(w)
	for _, d := range roots(dirs) {
		root := filepath.Join(base, d)
		if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			return addEntry(tw, p, filepath.ToSlash(rel))
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

func addEntry(tw *tar.Writer, p, name string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.ModTime = fi.ModTime().Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	return nil
}

// extractTar unpacks an archive into dest, accepting only entries inside
// the fileset's mutable directories: no absolute names, no "..", nothing
// written through a symlink, and only directories, regular files and
// symlinks.
//
// The archive must be complete: it must end with tar's end-of-archive
// marker (two zero blocks), which archive/tar does not insist on — an
// archive cut at an entry boundary would otherwise restore part of the
// files and succeed. A missing marker is an *store.IntegrityError.
func extractTar(r io.Reader, dest string, dirs []string) error {
	allowed := roots(dirs)
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirTimes []dirTime
	var pad int64 // padding after the data of the entry just read
	for {
		before := cr.n
		hdr, err := tr.Next()
		if err == io.EOF {
			// Next skipped the previous entry's padding, then read the
			// end marker: exactly two blocks, unless the archive ended
			// at an entry boundary (0 bytes) or after one zero block.
			if cr.n-before-pad != 2*512 {
				return &store.IntegrityError{Problems: []string{"the archive ends without tar's end-of-archive marker: it was cut short, and restoring it would bring back only part of the files"}}
			}
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		pad = 0
		if hdr.Typeflag == tar.TypeReg {
			pad = (512 - hdr.Size%512) % 512
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || !inside(name, allowed) {
			return fmt.Errorf("archive entry %q is outside the fileset's directories %v", hdr.Name, allowed)
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		if err := noSymlinkParents(dest, name); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode) & fs.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(target, mode|0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			dirTimes = append(dirTimes, dirTime{target, hdr.ModTime})
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			os.Chtimes(target, hdr.ModTime, hdr.ModTime)
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if os.Geteuid() == 0 {
			os.Lchown(target, hdr.Uid, hdr.Gid)
		}
	}
	for i := len(dirTimes) - 1; i >= 0; i-- {
		os.Chtimes(dirTimes[i].path, dirTimes[i].t, dirTimes[i].t)
	}
	return nil
}

// countingReader counts what it reads, and hides any Seek method so that
// archive/tar reads every byte.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func inside(name string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || name == d || strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return false
}

// noSymlinkParents refuses an entry whose parent directories (already
// extracted) include a symlink: writing through it could leave dest.
func noSymlinkParents(dest, name string) error {
	parts := strings.Split(name, "/")
	p := dest
	for _, part := range parts[:len(parts)-1] {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("archive entry %q goes through the symlink %s", name, p)
		}
	}
	return nil
}
