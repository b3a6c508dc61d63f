package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Imported reports what Import did.
type Imported struct {
	// Snapshots lists every snapshot of the stream with what happened to
	// it: imported, skipped (already there) or repaired (a damaged local
	// copy was replaced).
	Snapshots   []store.InstalledSnapshot
	Generations []store.Generation // generations added, in order
}

// Import reads a stream written by Export and installs its snapshots into
// s. Payloads are received into a work directory of s; only when the whole
// stream has been read and every payload verifies against its checksum are
// they installed, followed by the stream's generations in order. The store
// lock is held from the first byte to the last generation. Snapshots s already holds with the same checksum
// are skipped without being written. A malformed or hostile stream is
// refused with nothing of it visible.
func Import(ctx context.Context, s *store.Store, r io.Reader) (*Imported, error) {
	// The lock is held while the stream is read: which snapshots are
	// skipped as already present is decided there, and gc must not remove
	// one of them before its generations are added.
	unlock, err := s.Lock(ctx, "import")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer unlock()
	work, err := s.TempDir("import")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(work)
	rd := &reader{
		s: s, work: work,
		sums:     map[store.Snapshot]string{},
		meta:     map[store.Snapshot]*store.Metadata{},
		gens:     map[store.Key]map[int]store.Snapshot{},
		inStream: map[store.Snapshot]bool{},
	}
	progress := s.Report.Progress("import", -1)
	err = rd.read(ctx, &abortReader{r: r, progress: progress})
	progress.Close()
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	res, err := s.InstallLocked(ctx, rd.incoming, rd.generations())
	out := &Imported{}
	if res != nil {
		out.Snapshots = res.Snapshots
		out.Generations = res.Generations
	}
	if err != nil {
		return out, fmt.Errorf("import: %w", err)
	}
	for _, sn := range rd.skipped {
		out.Snapshots = append(out.Snapshots, store.InstalledSnapshot{Snapshot: sn, Checksum: rd.sums[sn], Status: store.Present})
	}
	sort.SliceStable(out.Snapshots, func(i, j int) bool { return out.Snapshots[i].Rel() < out.Snapshots[j].Rel() })
	return out, nil
}

// reader walks the archive and collects what it carries.
type reader struct {
	s          *store.Store
	work       string
	markerSeen bool
	sums       map[store.Snapshot]string
	meta       map[store.Snapshot]*store.Metadata
	gens       map[store.Key]map[int]store.Snapshot
	inStream   map[store.Snapshot]bool

	incoming []store.Incoming
	skipped  []store.Snapshot
}

// payload is a snapshot being received.
type payload struct {
	sn   store.Snapshot
	root string // its path in the archive
	dir  string // where it is written; "" when skipped
	buf  []byte // copy buffer for its files
}

// abortReader lets a failed import stop the archive parser's goroutine:
// once aborted, every read fails, so draining the parser ends at once.
type abortReader struct {
	r        io.Reader
	aborted  bool
	progress ui.Counter
	n        int64 // bytes read
}

var errAborted = errors.New("import aborted")

// Read also turns the end of the input into io.ErrUnexpectedEOF: a complete
// archive is parsed without reading past its end, so the parser only meets
// the end of the input when the stream is truncated — which it would
// otherwise report as a clean io.EOF.
func (a *abortReader) Read(p []byte) (int, error) {
	if a.aborted {
		return 0, errAborted
	}
	n, err := a.r.Read(p)
	a.n += int64(n)
	a.progress.Add(int64(n))
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (rd *reader) read(ctx context.Context, src *abortReader) (err error) {
	nr, err := nar.NewReader(src)
	if err != nil {
		return fmt.Errorf("not a snapshot stream: %w", err)
	}
	defer func() {
		if err != nil {
			src.aborted = true
			for {
				if _, e := nr.Next(); e != nil {
					break
				}
			}
		}
		nr.Close()
	}()

	var (
		prev string   // the previous entry's path
		dirs []string // the directory entries enclosing the current one
		cur  *payload // the snapshot being received
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := nr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("malformed stream: %w", err)
		}
		p := hdr.Path
		if err := hdr.Validate(); err != nil {
			return fmt.Errorf("entry %q: %w", p, err)
		}
		// Paths must increase strictly, and each entry must sit in the
		// directory entry that encloses it: this refuses duplicates and
		// names ("", ".", "..") that the parser's path joining would fold
		// into another entry.
		if prev != "" && (p == prev || !nar.PathIsLexicographicallyOrdered(prev, p)) {
			return fmt.Errorf("entry %q: duplicate or out of order after %q", p, prev)
		}
		prev = p
		if p == "/" {
			if hdr.Type != nar.TypeDirectory {
				return errors.New("not a snapshot stream: the root is not a directory")
			}
			dirs = append(dirs, "/")
			continue
		}
		parent, name := path.Split(p)
		if parent != "/" {
			parent = strings.TrimSuffix(parent, "/")
		}
		for len(dirs) > 0 && dirs[len(dirs)-1] != parent {
			dirs = dirs[:len(dirs)-1]
		}
		if len(dirs) == 0 || name == "" || name == "." || name == ".." {
			return fmt.Errorf("entry %q: not inside a directory entry", p)
		}
		if hdr.Type == nar.TypeDirectory {
			dirs = append(dirs, p)
		}

		if cur != nil && !strings.HasPrefix(p, cur.root+"/") {
			rd.finish(cur)
			cur = nil
		}
		if cur != nil {
			if err := cur.receive(hdr, p, nr); err != nil {
				return fmt.Errorf("snapshot %s: %w", cur.sn.Rel(), err)
			}
			continue
		}
		if cur, err = rd.entry(hdr, p, nr); err != nil {
			return err
		}
	}
	if cur != nil {
		rd.finish(cur)
	}
	if !rd.markerSeen {
		return fmt.Errorf("not a snapshot stream: no %s entry", markerName)
	}
	// Every field of a NAR is padded to 8 bytes, so a whole archive is a
	// multiple of 8 bytes long. The parser does not check the padding of
	// the archive's last token: a stream cut inside it would pass.
	if src.n%8 != 0 {
		return fmt.Errorf("malformed stream: cut short inside its final padding (%d bytes read, not a multiple of 8)", src.n)
	}
	var one [1]byte
	if n, _ := io.ReadFull(src.r, one[:]); n > 0 {
		return errors.New("malformed stream: data after the end of the archive")
	}
	for sn := range rd.sums {
		if !rd.inStream[sn] {
			return fmt.Errorf("checksum of %s without the snapshot", sn.Rel())
		}
	}
	for sn, md := range rd.meta {
		if !rd.inStream[sn] {
			return fmt.Errorf("metadata of %s without the snapshot", sn.Rel())
		}
		if md.Checksum != rd.sums[sn] {
			return fmt.Errorf("metadata of %s names checksum %s, the stream %s", sn.Rel(), md.Checksum, rd.sums[sn])
		}
	}
	return nil
}

// entry handles an entry outside any payload; it returns the payload an
// entry starts.
func (rd *reader) entry(hdr *nar.Header, p string, nr *nar.Reader) (*payload, error) {
	parts := strings.Split(p[1:], "/")
	if !rd.markerSeen {
		if p != "/"+markerName || hdr.Type != nar.TypeRegular {
			return nil, fmt.Errorf("not a snapshot stream: it starts with %q", p)
		}
		data, err := readSmall(hdr, nr, int64(len(marker)))
		if err != nil || string(data) != marker {
			return nil, fmt.Errorf("not a snapshot stream of a known version: %s holds %q", markerName, data)
		}
		rd.markerSeen = true
		return nil, nil
	}
	kind := parts[0]
	switch kind {
	case "checksums", "generations", "metadata", "snapshots":
	default:
		return nil, fmt.Errorf("unexpected entry %q", p)
	}
	for _, seg := range parts[1:min(len(parts), 3)] {
		if err := store.ValidSegment(seg); err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
	}
	if len(parts) < 4 {
		if hdr.Type != nar.TypeDirectory {
			return nil, fmt.Errorf("entry %q: want a directory", p)
		}
		return nil, nil
	}
	if len(parts) > 4 {
		return nil, fmt.Errorf("unexpected entry %q", p)
	}
	k := store.Key{Container: parts[1], Component: parts[2]}
	name := parts[3]
	switch kind {
	case "checksums":
		sn := store.Snapshot{Key: k, ID: name}
		if hdr.Type != nar.TypeRegular {
			return nil, fmt.Errorf("entry %q: want a file", p)
		}
		data, err := readSmall(hdr, nr, maxChecksum)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
		if err := store.ValidChecksum(string(data)); err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
		rd.sums[sn] = string(data)
	case "generations":
		n, err := strconv.Atoi(name)
		if err != nil || n <= 0 || strconv.Itoa(n) != name {
			return nil, fmt.Errorf("entry %q: generations are numbered 1, 2, …", p)
		}
		if hdr.Type != nar.TypeSymlink {
			return nil, fmt.Errorf("entry %q: want a symlink", p)
		}
		id, err := parseGenerationLink(k, hdr.LinkTarget)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
		if rd.gens[k] == nil {
			rd.gens[k] = map[int]store.Snapshot{}
		}
		rd.gens[k][n] = store.Snapshot{Key: k, ID: id}
	case "metadata":
		id, ok := strings.CutSuffix(name, ".json")
		sn := store.Snapshot{Key: k, ID: id}
		if !ok || store.ValidSegment(id) != nil || hdr.Type != nar.TypeRegular {
			return nil, fmt.Errorf("unexpected entry %q", p)
		}
		data, err := readSmall(hdr, nr, maxMetadata)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
		md, err := store.ParseMetadata(sn, data)
		if err != nil {
			return nil, err
		}
		rd.meta[sn] = md
	case "snapshots":
		sn := store.Snapshot{Key: k, ID: name}
		if err := store.ValidSegment(name); err != nil {
			return nil, fmt.Errorf("entry %q: %w", p, err)
		}
		sum, ok := rd.sums[sn]
		if !ok {
			return nil, fmt.Errorf("snapshot %s: no checksum in the stream", sn.Rel())
		}
		rd.inStream[sn] = true
		cur := &payload{sn: sn, root: p}
		// An intact local copy with the same checksum makes this one
		// redundant; a damaged one is replaced by it.
		if local, ok, err := rd.s.Checksum(sn); err == nil && ok && local == sum && rd.s.Verify(sn) == nil {
			return cur, nil // skipped: its entries are read past
		}
		cur.dir = filepath.Join(rd.work, strconv.Itoa(len(rd.incoming)+len(rd.skipped)))
		if err := cur.receive(hdr, p, nr); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.Rel(), err)
		}
		return cur, nil
	}
	return nil, nil
}

// receive writes one payload entry into the work directory.
func (pl *payload) receive(hdr *nar.Header, p string, nr *nar.Reader) error {
	if pl.dir == "" {
		return nil
	}
	disk := pl.dir
	if p != pl.root {
		disk = filepath.Join(pl.dir, filepath.FromSlash(strings.TrimPrefix(p, pl.root+"/")))
	}
	switch hdr.Type {
	case nar.TypeDirectory:
		return store.MkdirPrivate(disk)
	case nar.TypeSymlink:
		if err := store.CheckLinkTarget(hdr.LinkTarget); err != nil {
			return fmt.Errorf("entry %q: %w", p, err)
		}
		return os.Symlink(hdr.LinkTarget, disk)
	case nar.TypeRegular:
		f, err := store.CreatePrivate(disk, hdr.Executable)
		if err != nil {
			return err
		}
		// Large writes: io.Copy's 32 KiB chunks cost a system call each,
		// which made receiving a large snapshot half as fast.
		if pl.buf == nil {
			pl.buf = make([]byte, 1<<20)
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{f}, nr, pl.buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != hdr.Size {
			err = fmt.Errorf("entry %q: %d of %d bytes", p, n, hdr.Size)
		}
		return err
	}
	return fmt.Errorf("entry %q: unsupported type %s", p, hdr.Type)
}

// finish queues a received payload for installation.
func (rd *reader) finish(pl *payload) {
	if pl.dir == "" {
		rd.skipped = append(rd.skipped, pl.sn)
		return
	}
	rd.incoming = append(rd.incoming, store.Incoming{Snapshot: pl.sn, Dir: pl.dir, Checksum: rd.sums[pl.sn], Metadata: rd.meta[pl.sn]})
}

// generations lists the stream's generations for the generation step:
// components in order, each component's generations in numeric order.
func (rd *reader) generations() []store.Snapshot {
	keys := make([]store.Key, 0, len(rd.gens))
	for k := range rd.gens {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var out []store.Snapshot
	for _, k := range keys {
		nums := make([]int, 0, len(rd.gens[k]))
		for n := range rd.gens[k] {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			out = append(out, rd.gens[k][n])
		}
	}
	return out
}

// readSmall reads a file entry of at most max bytes.
func readSmall(hdr *nar.Header, r io.Reader, max int64) ([]byte, error) {
	if hdr.Size > max {
		return nil, fmt.Errorf("%d bytes, at most %d expected", hdr.Size, max)
	}
	data, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != hdr.Size {
		return nil, fmt.Errorf("%d of %d bytes", len(data), hdr.Size)
	}
	return data, nil
}
