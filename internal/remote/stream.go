package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/transfer"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Send writes snaps to w as one session (see frames.go): a stream per
// snapshot, in the order given, each carrying one generation, so the
// receiver's generations follow that order. The streams carry each
// snapshot's stored checksum and the receiver (Receive, through
// transfer.Import) verifies every payload against it before installing it,
// so a damaged snapshot here is refused there; the sender does not verify
// first, which would read every snapshot twice. progress counts the bytes
// written; it is not closed. It returns the bytes written.
func Send(ctx context.Context, s *store.Store, w io.Writer, snaps []store.Snapshot, progress ui.Counter) (int64, error) {
	var total int64
	for _, sn := range snaps {
		total += dirSize(s.SnapshotDir(sn))
	}
	cw := &countingWriter{w: w, progress: progress}
	if err := writeHeader(cw, SessionHeader{Streams: len(snaps), Bytes: total}); err != nil {
		return cw.n, err
	}
	qs := quiet(s)
	for _, sn := range snaps {
		fw := newFrameWriter(cw)
		if _, err := transfer.ExportToVerifier(ctx, qs, fw, []store.Snapshot{sn}); err != nil {
			return cw.n, fmt.Errorf("send %s: %w", sn.Rel(), err)
		}
		if err := fw.Close(); err != nil {
			return cw.n, fmt.Errorf("send %s: %w", sn.Rel(), err)
		}
	}
	return cw.n, nil
}

// Received is what receiving one stream installed.
type Received struct {
	Snapshots   []store.InstalledSnapshot
	Generations []store.Generation
	Bytes       int64 // bytes of the session this stream took
}

// Receive reads a session from r and installs each stream's snapshots as
// soon as that stream is complete (transfer.Import: verified, atomic). each
// is called after every stream, in order. A session that ends early or
// holds a bad stream fails, and what was installed before that stream is
// kept: always a whole beginning of the session. progress counts the bytes
// read; the header's total is passed to start, which returns the counter
// (nil start: no progress).
//
// Receiving overlaps installing: while one stream's snapshots are fsynced
// and verified, the next stream is already being read (so the connection
// does not stall), but it is installed only after the one before it, so
// that generations are added in the session's order.
func Receive(ctx context.Context, s *store.Store, r io.Reader, start func(total int64) ui.Counter, each func(Received) error) error {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<20)
	hdr, err := readHeader(br)
	if err != nil {
		return err
	}
	if start != nil {
		cr.progress = start(hdr.Bytes)
		defer cr.progress.Close()
	}
	qs := quiet(s)
	// A failed stream stops the one being read after it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var prev *receiving
	// finish waits for the previous stream and reports it.
	finish := func() error {
		if prev == nil {
			return nil
		}
		p := prev
		prev = nil
		<-p.done
		if p.err != nil {
			return fmt.Errorf("snapshot stream %d of %d: %w", p.n, hdr.Streams, p.err)
		}
		if each != nil {
			return each(Received{Snapshots: p.res.Snapshots, Generations: p.res.Generations, Bytes: p.bytes})
		}
		return nil
	}
	for i := 0; ; i++ {
		before := cr.n - int64(br.Buffered())
		cur := &receiving{n: i + 1, reached: make(chan struct{}), done: make(chan struct{})}
		fr := &frameReader{r: br, reached: cur.reached}
		if p := prev; p != nil {
			fr.gate = func() error {
				<-p.done
				if p.err != nil {
					return errors.New("not installed: the snapshot stream before it failed")
				}
				return nil
			}
		}
		if err := fr.start(); errors.Is(err, errBetween) {
			if err := finish(); err != nil {
				return err
			}
			if i < hdr.Streams {
				return fmt.Errorf("the session ended after %d of %d snapshot streams: %w", i, hdr.Streams, io.ErrUnexpectedEOF)
			}
			return nil
		} else if err != nil {
			return errors.Join(finish(), fmt.Errorf("snapshot stream %d of %d: %w", i+1, hdr.Streams, err))
		}
		if i >= hdr.Streams {
			return errors.Join(finish(), fmt.Errorf("malformed session: more than the %d snapshot streams announced", hdr.Streams))
		}
		go func() {
			defer close(cur.done)
			// Import also succeeds when the input ends right after a
			// complete archive, before the stream's end marker; the
			// next stream's start then finds the session's end.
			cur.res, cur.err = transfer.Import(ctx, qs, fr)
		}()
		// Until the stream has been read to its end, it owns br. The one
		// before it is reported as soon as it is installed.
		for waiting := true; waiting; {
			var prevDone chan struct{}
			if prev != nil {
				prevDone = prev.done
			}
			select {
			case <-cur.reached:
				cur.bytes = cr.n - int64(br.Buffered()) - before
				waiting = false
			case <-cur.done:
				waiting = false
			case <-prevDone:
				if err := finish(); err != nil {
					cancel()
					<-cur.done // it fails at its gate at the latest, and cleans up
					return err
				}
			}
		}
		if err := finish(); err != nil {
			cancel()
			<-cur.done
			return err
		}
		// Either cur has read its end marker or Import returned: cur
		// reads br no more.
		prev = cur
	}
}

// receiving is a stream being received and installed.
type receiving struct {
	n       int
	reached chan struct{} // its end marker was read
	done    chan struct{} // Import returned
	res     *transfer.Imported
	err     error
	bytes   int64
}

// quiet returns a copy of s whose reporter draws no progress of its own:
// the session draws one counter for all its streams.
func quiet(s *store.Store) *store.Store {
	q := *s
	q.Report = noProgress{s.Report}
	return &q
}

type noProgress struct{ ui.Reporter }

func (noProgress) Progress(string, int64) ui.Counter { return ui.Discard.Progress("", 0) }

type countingWriter struct {
	w        io.Writer
	n        int64
	progress ui.Counter
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress.Add(int64(n))
	}
	return n, err
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress ui.Counter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress.Add(int64(n))
	}
	return n, err
}

// dirSize adds up the sizes of the regular files below p.
func dirSize(p string) int64 {
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
