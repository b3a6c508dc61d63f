package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

func newStore(t testing.TB) *store.Store {
	t.Helper()
	s := store.Open(filepath.Join(t.TempDir(), "state"))
	s.LockTimeout = 10 * time.Second
	return s
}

func commitText(t testing.TB, s *store.Store, k store.Key, text string) store.Committed {
	t.Helper()
	c, err := s.Commit(context.Background(), k, store.Meta{Module: "test"}, func(d *store.Dump) error {
		w, err := d.Create("dump.sql")
		if err != nil {
			return err
		}
		io.WriteString(w, text)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readText(t testing.TB, s *store.Store, sn store.Snapshot) string {
	t.Helper()
	p, err := s.Read(context.Background(), sn)
	if err != nil {
		t.Fatalf("read %s: %v", sn.Rel(), err)
	}
	r, err := p.Open("dump.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, _ := io.ReadAll(r)
	return string(data)
}

// visible lists everything under the snapshots/ and generations/ of s, as
// slash-separated paths.
func visible(t testing.TB, s *store.Store) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{"snapshots", "generations"} {
		root := filepath.Join(s.Dir(), kind)
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && p != root {
				rel, _ := filepath.Rel(s.Dir(), p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	return out
}

func exportAll(t testing.TB, s *store.Store, snaps ...store.Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), s, &buf, store.Selection{}, snaps); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// node describes an archive entry for rawNAR, which, unlike the go-nix
// writer, writes whatever it is given: names out of order, duplicates,
// "..", empty names.
type node struct {
	name     string // entry name inside its directory
	dir      []node // for directories (nil with file and link empty: an empty directory)
	file     *string
	link     string
	isDir    bool
	execBits bool
}

func dirNode(name string, children ...node) node { return node{name: name, dir: children, isDir: true} }
func fileNode(name, content string) node         { return node{name: name, file: &content} }
func linkNode(name, target string) node          { return node{name: name, link: target} }

func rawNAR(root node) []byte {
	var b bytes.Buffer
	str := func(s string) {
		binary.Write(&b, binary.LittleEndian, uint64(len(s)))
		b.WriteString(s)
		if pad := (8 - len(s)%8) % 8; pad > 0 {
			b.Write(make([]byte, pad))
		}
	}
	var emit func(n node)
	emit = func(n node) {
		str("(")
		str("type")
		switch {
		case n.isDir:
			str("directory")
			for _, c := range n.dir {
				str("entry")
				str("(")
				str("name")
				str(c.name)
				str("node")
				emit(c)
				str(")")
			}
		case n.file != nil:
			str("regular")
			if n.execBits {
				str("executable")
				str("")
			}
			str("contents")
			str(*n.file)
		default:
			str("symlink")
			str("target")
			str(n.link)
		}
		str(")")
	}
	str("nix-archive-1")
	emit(root)
	return b.Bytes()
}

// streamWith builds a stream holding one snapshot c/comp/<id> whose payload
// is the given entries, with the right checksum unless sum is given.
func streamWith(t testing.TB, id, sum string, payload ...node) []byte {
	t.Helper()
	return streamWithKey(t, store.Key{Container: "c", Component: "comp"}, marker, id, sum, payload...)
}

// streamWithKey is streamWith for any component and marker; the names go
// into the stream as they are.
func streamWithKey(t testing.TB, k store.Key, mark, id, sum string, payload ...node) []byte {
	t.Helper()
	if sum == "" {
		dir := filepath.Join(t.TempDir(), "p")
		os.Mkdir(dir, 0o755)
		for _, n := range payload {
			if n.file != nil {
				os.WriteFile(filepath.Join(dir, n.name), []byte(*n.file), 0o644)
			}
		}
		var err error
		if sum, err = store.NARHash(dir); err != nil {
			t.Fatal(err)
		}
	}
	if id == "" {
		id = strings.TrimPrefix(sum, "sha256:")
	}
	c, comp := k.Container, k.Component
	return rawNAR(dirNode("",
		fileNode(".dysnomia-export", mark),
		dirNode("checksums", dirNode(c, dirNode(comp, fileNode(id, sum)))),
		dirNode("generations", dirNode(c, dirNode(comp, linkNode("1", "../../../snapshots/"+c+"/"+comp+"/"+id)))),
		dirNode("snapshots", dirNode(c, dirNode(comp, dirNode(id, payload...)))),
	))
}
