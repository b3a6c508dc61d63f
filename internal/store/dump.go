package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Dump is the payload of a snapshot being written. A module creates one or
// more named files in it and streams its dump into them; the store
// compresses them with zstd on the way to disk.
type Dump struct {
	dir    string
	report ui.Reporter
	label  string
	files  []*dumpFile
	pipe   *pipeHash
	sum    string // the pipelined NAR hash, when it worked
}

// FileInfo describes one payload file.
type FileInfo struct {
	Name     string `json:"name"`            // as stored, e.g. "dump.pgdump.zst"
	Size     int64  `json:"size"`            // bytes on disk, all parts together
	DumpSize int64  `json:"dumpSize"`        // bytes the module wrote (before compression)
	Parts    int    `json:"parts,omitempty"` // part files, when more than one (see partName)
}

// Create starts the payload file name (a slash-separated relative path
// without "..") and returns a writer that compresses into name+".zst"
// (continued in name+".zst.000001", … beyond 64 MiB of compressed data). The
// writer must be closed.
//
// The encoder runs on one goroutine: its output is the same with more, and
// a dump tool and its server compete with it for the cores; on 2 cores,
// one goroutine compresses a pg_dump archive with two thirds of the CPU
// time of two (measured on a pgbench dump and on random base64 text).
func (d *Dump) Create(name string) (io.WriteCloser, error) {
	return d.create(name, append(EncoderOptions(), zstd.WithEncoderConcurrency(1)))
}

// CreateFast is Create with zstd's fastest level (FastEncoderOptions) and one
// encoder goroutine, for dumps whose producer competes with the compressor
// for the same cores, as a database dump tool and its server do. On SQL dumps
// the fastest level compresses about as well as the default one with two
// thirds of the CPU time, and a single goroutine spends less CPU than
// several (no hand-over of blocks between them): on 2 cores, with
// mariadb-dump and its server busy, it also finishes sooner. The output is
// the same either way.
func (d *Dump) CreateFast(name string) (io.WriteCloser, error) {
	return d.create(name, append(FastEncoderOptions(), zstd.WithEncoderConcurrency(1)))
}

// CreateDump is Create for the dumps of a database server's own dump tool,
// gigabytes of it with the tool and the server busy on the same cores:
// zstd's fastest level, with entropy coding of blocks in which it finds no
// matches (DumpEncoderOptions), on one goroutine. Measured on a 2-core
// machine (bench/postgresql): on a pgbench dump it takes a little less CPU
// than Create's default level and compresses as well; on random base64
// text, which has almost no matches, the default level spends four times
// the CPU and stores the text uncompressed, while this compresses it to
// three quarters, better than the zstd program at level 3, in a third of
// that program's CPU time.
func (d *Dump) CreateDump(name string) (io.WriteCloser, error) {
	return d.create(name, append(DumpEncoderOptions(), zstd.WithEncoderConcurrency(1)))
}

func (d *Dump) create(name string, opts []zstd.EOption) (io.WriteCloser, error) {
	if err := validFileName(name); err != nil {
		return nil, err
	}
	if d.pipe == nil {
		d.pipe = newPipeHash()
	}
	stored := &partWriter{dir: d.dir, name: name + ".zst", pipe: d.pipe}
	if err := mkdirAllPrivate(d.dir, filepath.Dir(filepath.Join(d.dir, filepath.FromSlash(name)))); err != nil {
		return nil, err
	}
	if err := stored.open(); err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(stored, opts...)
	if err != nil {
		stored.Close()
		return nil, err
	}
	df := &dumpFile{name: name + ".zst", stored: stored, enc: enc, progress: d.report.Progress(d.label, -1)}
	d.files = append(d.files, df)
	return df, nil
}

// EncoderOptions are the zstd settings of every payload file. The output for
// a given input depends only on these and on the library version (not on
// the encoder's concurrency, nor on how the input is split into writes),
// which is what makes snapshot ids content addresses.
func EncoderOptions() []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault)}
}

// DumpEncoderOptions are the zstd settings of CreateDump; like
// EncoderOptions, their output depends only on them and the library version.
func DumpEncoderOptions() []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithAllLitEntropyCompression(true)}
}

// FastEncoderOptions are the zstd settings of CreateFast; like
// EncoderOptions, their output depends only on them and the library version.
func FastEncoderOptions() []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest)}
}

func validFileName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == "." ||
		strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\x00") {
		return fmt.Errorf("invalid payload file name %q", name)
	}
	return nil
}

// close finishes every file, and waits until all of them are synced and
// hashed; it reports files the module left open.
func (d *Dump) close() ([]FileInfo, error) {
	var errs []error
	var infos []FileInfo
	for _, f := range d.files {
		if !f.closed {
			errs = append(errs, fmt.Errorf("payload file %s was not closed", f.name))
			f.Close()
		}
		if f.err != nil {
			errs = append(errs, f.err)
		}
		fi := FileInfo{Name: f.name, Size: f.stored.total, DumpSize: f.raw}
		if f.stored.part > 0 {
			fi.Parts = f.stored.part + 1
		}
		infos = append(infos, fi)
	}
	if d.pipe != nil {
		sum, err := d.pipe.finish()
		if err != nil {
			errs = append(errs, fmt.Errorf("sync payload: %w", err))
		}
		d.sum = sum
	}
	return infos, errors.Join(errs...)
}

type dumpFile struct {
	name     string
	stored   *partWriter
	enc      *zstd.Encoder
	progress ui.Counter
	raw      int64
	closed   bool
	err      error
}

func (f *dumpFile) Write(p []byte) (int, error) {
	n, err := f.enc.Write(p)
	f.raw += int64(n)
	f.progress.Add(int64(n))
	return n, err
}

func (f *dumpFile) Close() error {
	if f.closed {
		return f.err
	}
	f.closed = true
	f.progress.Close()
	err := f.enc.Close()
	if cerr := f.stored.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.err = fmt.Errorf("write payload file %s: %w", f.name, err)
	}
	return f.err
}

// partWriter writes a stream of compressed bytes into part files of at
// most partSize bytes, handing each finished part to the pipelined hash
// (which also syncs it).
type partWriter struct {
	dir, name string
	pipe      *pipeHash
	f         *os.File
	part      int   // index of the part being written
	n         int64 // bytes in the current part
	total     int64
	closed    bool
}

func (w *partWriter) open() error {
	p := filepath.Join(w.dir, filepath.FromSlash(partName(w.name, w.part)))
	f, err := createPrivate(p, false)
	if err != nil {
		return err
	}
	w.f, w.n = f, 0
	return nil
}

// finishPart closes the current part and hands it over.
func (w *partWriter) finishPart() error {
	err := w.f.Close()
	w.pipe.add(partName(w.name, w.part), w.f.Name(), w.n)
	w.f = nil
	return err
}

func (w *partWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.n == partSize {
			if err := w.finishPart(); err != nil {
				return written, err
			}
			w.part++
			if err := w.open(); err != nil {
				return written, err
			}
		}
		chunk := p[:min(int64(len(p)), partSize-w.n)]
		n, err := w.f.Write(chunk)
		written += n
		w.n += int64(n)
		w.total += int64(n)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (w *partWriter) Close() error {
	if w.closed || w.f == nil {
		return nil
	}
	w.closed = true
	return w.finishPart()
}

// checksum is the NAR hash of the finished payload directory: the one
// computed while it was written when that worked, else hashed now.
func (d *Dump) checksum() (string, error) {
	if d.sum != "" {
		return d.sum, nil
	}
	return NARHash(d.dir)
}
