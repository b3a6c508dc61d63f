package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/nix-community/go-nix/pkg/nar"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Exported summarises an export.
type Exported struct {
	Snapshots   []store.Snapshot
	Generations int
	Bytes       int64 // bytes of stream written
}

// Export writes snapshots to w as one stream (see the package comment).
// With snaps empty it exports every generation of the selected components
// and the snapshots they point to; otherwise exactly snaps, in that order,
// each with one generation (so the receiver's latest generation of a
// component is the last one named). Every snapshot is verified before the
// first byte is written: damaged or missing ones fail the export with a
// *store.IntegrityError naming all of them.
func Export(ctx context.Context, s *store.Store, w io.Writer, sel store.Selection, snaps []store.Snapshot) (*Exported, error) {
	return export(ctx, s, w, sel, snaps, true)
}

// ExportToVerifier is Export of exactly snaps without verifying them first,
// for a receiver that verifies every payload against the checksum the
// stream carries before installing it (as Import does): a damaged snapshot
// is then refused there instead of here, and the sender reads each snapshot
// once instead of twice.
func ExportToVerifier(ctx context.Context, s *store.Store, w io.Writer, snaps []store.Snapshot) (*Exported, error) {
	return export(ctx, s, w, store.Selection{}, snaps, false)
}

func export(ctx context.Context, s *store.Store, w io.Writer, sel store.Selection, snaps []store.Snapshot, verify bool) (*Exported, error) {
	gens, list, err := plan(s, sel, snaps)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	sums := map[store.Snapshot]string{}
	var bad []string
	var total int64
	for _, sn := range list {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !verify {
			if _, err := os.Lstat(s.SnapshotDir(sn)); err != nil {
				return nil, fmt.Errorf("export %s: %w", sn.Rel(), err)
			}
		} else if err := s.Verify(sn); err != nil {
			var ie *store.IntegrityError
			if errors.As(err, &ie) {
				bad = append(bad, ie.Problems...)
				continue
			}
			return nil, fmt.Errorf("export: %w", err)
		}
		sum, ok, err := s.Checksum(sn)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", sn.Rel(), err)
		}
		if !ok {
			if sum, err = store.NARHash(s.SnapshotDir(sn)); err != nil {
				return nil, fmt.Errorf("export %s: %w", sn.Rel(), err)
			}
			s.Report.Warnf("snapshot %s has no checksum; the stream carries its NAR hash %s", sn.Rel(), sum)
		}
		sums[sn] = sum
		total += treeSize(s.SnapshotDir(sn))
	}
	if len(bad) > 0 {
		return nil, &store.IntegrityError{Problems: append([]string{"export refused"}, bad...)}
	}

	root := newDir()
	root.put([]string{markerName}, &vnode{content: []byte(marker)})
	for _, sn := range list {
		root.put([]string{"checksums", sn.Container, sn.Component, sn.ID}, &vnode{content: []byte(sums[sn])})
		md, err := s.Metadata(sn)
		if err != nil {
			s.Report.Warnf("snapshot %s: unreadable metadata not exported: %v", sn.Rel(), err)
		} else if md != nil {
			data, _ := json.MarshalIndent(md, "", "  ")
			root.put([]string{"metadata", sn.Container, sn.Component, sn.ID + ".json"}, &vnode{content: append(data, '\n')})
		}
		root.put([]string{"snapshots", sn.Container, sn.Component, sn.ID}, &vnode{disk: s.SnapshotDir(sn)})
	}
	for _, g := range gens {
		root.put([]string{"generations", g.Snapshot.Container, g.Snapshot.Component, strconv.Itoa(g.N)}, &vnode{link: generationLink(g.Snapshot)})
	}

	cw := &countWriter{w: w, progress: s.Report.Progress("export", total)}
	defer cw.progress.Close()
	nw, err := nar.NewWriter(cw)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := root.write(ctx, nw, "/"); err != nil {
		nw.Close()
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := nw.Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &Exported{Snapshots: list, Generations: len(gens), Bytes: cw.n}, nil
}

// plan picks the generations and snapshots to export.
func plan(s *store.Store, sel store.Selection, snaps []store.Snapshot) ([]store.Generation, []store.Snapshot, error) {
	var gens []store.Generation
	var list []store.Snapshot
	seen := map[store.Snapshot]bool{}
	add := func(sn store.Snapshot) {
		if !seen[sn] {
			seen[sn] = true
			list = append(list, sn)
		}
	}
	if len(snaps) > 0 {
		next := map[store.Key]int{}
		for _, sn := range snaps {
			if err := sn.Key.Validate(); err != nil {
				return nil, nil, err
			}
			if seen[sn] {
				continue
			}
			add(sn)
			next[sn.Key]++
			gens = append(gens, store.Generation{N: next[sn.Key], Snapshot: sn})
		}
		return gens, list, nil
	}
	keys, err := s.Keys(sel)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		kg, err := s.Generations(k)
		if err != nil {
			return nil, nil, err
		}
		for _, g := range kg {
			gens = append(gens, g)
			add(g.Snapshot)
		}
	}
	return gens, list, nil
}

// vnode is an entry of the stream being built: a directory, a file with
// content, a symlink, or a tree read from disk.
type vnode struct {
	children map[string]*vnode
	content  []byte
	link     string
	disk     string
}

func newDir() *vnode { return &vnode{children: map[string]*vnode{}} }

func (n *vnode) put(path []string, leaf *vnode) {
	for _, name := range path[:len(path)-1] {
		child, ok := n.children[name]
		if !ok {
			child = newDir()
			n.children[name] = child
		}
		n = child
	}
	n.children[path[len(path)-1]] = leaf
}

func (n *vnode) write(ctx context.Context, nw *nar.Writer, p string) error {
	switch {
	case n.disk != "":
		return writeTree(ctx, nw, n.disk, p)
	case n.link != "":
		return nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeSymlink, LinkTarget: n.link})
	case n.children != nil:
		if err := nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeDirectory}); err != nil {
			return err
		}
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if err := n.children[name].write(ctx, nw, joinNAR(p, name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeRegular, Size: int64(len(n.content))}); err != nil {
		return err
	}
	_, err := nw.Write(n.content)
	return err
}

// writeTree writes the file tree at disk into the NAR at path p, in NAR
// order (entries sorted by name).
func writeTree(ctx context.Context, nw *nar.Writer, disk, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(disk)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(disk)
		if err != nil {
			return err
		}
		return nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeSymlink, LinkTarget: target})
	case fi.IsDir():
		if err := nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeDirectory}); err != nil {
			return err
		}
		entries, err := os.ReadDir(disk) // sorted by name
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := writeTree(ctx, nw, filepath.Join(disk, e.Name()), joinNAR(p, e.Name())); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode().IsRegular():
		f, err := os.Open(disk)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := nw.WriteHeader(&nar.Header{Path: p, Type: nar.TypeRegular, Size: fi.Size(), Executable: fi.Mode()&0o100 != 0}); err != nil {
			return err
		}
		n, err := io.Copy(nw, f)
		if err == nil && n != fi.Size() {
			err = fmt.Errorf("%s changed size while being exported", disk)
		}
		return err
	}
	return fmt.Errorf("%s: unsupported file type %v", disk, fi.Mode().Type())
}

func joinNAR(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// treeSize adds up the sizes of the regular files below p.
func treeSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

type countWriter struct {
	w        io.Writer
	n        int64
	progress ui.Counter
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.progress.Add(int64(n))
	return n, err
}
