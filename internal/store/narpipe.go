package store

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// partSize is the compressed size after which a payload file continues in
// a new part file (a variable for tests).
//
// Parts let the store hash a snapshot while it is still being written: a
// NAR records a file's size before its bytes, so a single file can only be
// hashed once it is complete, which on a machine without SHA instructions
// adds a tenth to the time of a large commit. Each finished part is hashed
// (and synced) on another core while the compressor fills the next one, so
// only the last part is hashed after the dump ends.
var partSize int64 = 64 << 20

// partName names part i of the stored file name: part 0 is name itself
// ("dump.sql.zst"), later ones add a six-digit suffix ("dump.sql.zst.000001"),
// so that byte-wise order — NAR order, and the shell's glob order — is part
// order. Concatenated, the parts are the file.
func partName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s.%06d", name, i)
}

// splitPart recognises a continuation part: "dump.sql.zst.000003" is part 3
// of "dump.sql.zst".
func splitPart(name string) (base string, i int, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 || len(name)-dot-1 != 6 || !strings.HasSuffix(name[:dot], ".zst") {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[dot+1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return name[:dot], n, true
}

// pipeHash computes the NAR hash of a payload directory from its files as
// they are finished, in a goroutine of its own. It works when the files are
// finished in NAR order (byte-wise ascending names, all directly in the
// payload directory), which is what a module writing its dump files one
// after the other in name order does; otherwise it gives up, and the
// directory is hashed when it is complete. Either way it syncs every file
// handed to it.
type pipeHash struct {
	parts chan finishedFile
	done  chan struct{}

	h      hash.Hash
	nw     *nar.Writer
	last   string
	broken bool  // files did not come in NAR order
	err    error // a file could not be read or synced
}

type finishedFile struct {
	name string // relative to the payload directory, slash-separated
	path string
	size int64
}

func newPipeHash() *pipeHash {
	p := &pipeHash{parts: make(chan finishedFile, 1024), done: make(chan struct{}), h: sha256.New()}
	go p.run()
	return p
}

// add hands over a finished file.
func (p *pipeHash) add(name, path string, size int64) {
	p.parts <- finishedFile{name: name, path: path, size: size}
}

func (p *pipeHash) run() {
	defer close(p.done)
	for f := range p.parts {
		if p.err != nil {
			continue
		}
		if !p.broken && (strings.Contains(f.name, "/") || (p.last != "" && f.name <= p.last)) {
			p.broken = true
		}
		p.err = p.hashFile(f)
		p.last = f.name
	}
}

func (p *pipeHash) hashFile(f finishedFile) error {
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	if !p.broken {
		if p.nw == nil {
			if p.nw, err = nar.NewWriter(p.h); err != nil {
				return err
			}
			if err := p.nw.WriteHeader(&nar.Header{Path: "/", Type: nar.TypeDirectory}); err != nil {
				return err
			}
		}
		if err := p.nw.WriteHeader(&nar.Header{Path: "/" + f.name, Type: nar.TypeRegular, Size: f.size}); err != nil {
			return err
		}
		n, err := io.Copy(p.nw, file)
		if err != nil {
			return err
		}
		if n != f.size {
			return fmt.Errorf("%s: %d bytes hashed, %d written", f.name, n, f.size)
		}
	}
	return file.Sync()
}

// finish waits for every file handed over. It returns the NAR hash
// ("sha256:<nixbase32>") of a directory holding exactly those files, or ""
// when they did not come in NAR order.
func (p *pipeHash) finish() (string, error) {
	close(p.parts)
	<-p.done
	if p.err != nil {
		if p.nw != nil {
			p.nw.Close()
		}
		return "", p.err
	}
	if p.broken || p.nw == nil {
		if p.nw != nil {
			p.nw.Close()
		}
		return "", nil
	}
	if err := p.nw.Close(); err != nil {
		return "", err
	}
	return "sha256:" + nixbase32.EncodeToString(p.h.Sum(nil)), nil
}
