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
}

// FileInfo describes one payload file.
type FileInfo struct {
	Name     string `json:"name"`     // as stored, e.g. "dump.pgdump.zst"
	Size     int64  `json:"size"`     // bytes on disk
	DumpSize int64  `json:"dumpSize"` // bytes the module wrote (before compression)
}

// Create starts the payload file name (a slash-separated relative path
// without "..") and returns a writer that compresses into name+".zst". The
// writer must be closed; closing flushes and syncs the file.
func (d *Dump) Create(name string) (io.WriteCloser, error) {
	return d.create(name, EncoderOptions())
}

// CreateFast is Create with zstd's fastest level (FastEncoderOptions), for
// dumps whose producer competes with the compressor for the same cores, as a
// database dump tool and its server do. On SQL dumps it compresses about as
// well as the default level with two thirds of the CPU time.
func (d *Dump) CreateFast(name string) (io.WriteCloser, error) {
	return d.create(name, FastEncoderOptions())
}

func (d *Dump) create(name string, opts []zstd.EOption) (io.WriteCloser, error) {
	if err := validFileName(name); err != nil {
		return nil, err
	}
	p := filepath.Join(d.dir, filepath.FromSlash(name)+".zst")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	stored := &countWriter{w: f}
	enc, err := zstd.NewWriter(stored, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	df := &dumpFile{name: name + ".zst", f: f, stored: stored, enc: enc, progress: d.report.Progress(d.label, -1)}
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

// close finishes every file; it reports files the module left open.
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
		infos = append(infos, FileInfo{Name: f.name, Size: f.stored.n, DumpSize: f.raw})
	}
	return infos, errors.Join(errs...)
}

type dumpFile struct {
	name     string
	f        *os.File
	stored   *countWriter
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
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.err = fmt.Errorf("write payload file %s: %w", f.name, err)
	}
	return f.err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// checksum is the NAR hash of the finished payload directory.
func (d *Dump) checksum() (string, error) {
	return NARHash(d.dir)
}
