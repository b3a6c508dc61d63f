package store

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of the first n bytes of path that are in the
// page cache.
func resident(t *testing.T, path string, n int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (n+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal("mincore:", e)
	}
	c := 0
	for _, v := range vec {
		c += int(v & 1)
	}
	return c
}

// Read through a dropBehind, a file arrives whole and leaves the page
// cache; read plainly, it stays.
func TestDropBehindReleasesWhatItRead(t *testing.T) {
	data := make([]byte, 3*dropStep+12345)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	path := filepath.Join(t.TempDir(), "dump")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Only clean pages can be dropped: written back first.
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pages := len(data) / os.Getpagesize()

	read := func(wrap func(*os.File) io.Reader) []byte {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// Reads of odd sizes, as a decompressor makes them.
		var got []byte
		rd := wrap(f)
		buf := make([]byte, 1<<20)
		for {
			n, err := rd.Read(buf[:1+r.IntN(len(buf)-1)])
			got = append(got, buf[:n]...)
			if err == io.EOF {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := read(func(f *os.File) io.Reader { return f }); !bytes.Equal(got, data) {
		t.Fatal("plain read: content differs")
	}
	if n := resident(t, path, len(data)); n < pages*9/10 {
		t.Fatalf("after a plain read %d of %d pages are cached; this file system does not cache it, nothing to test", n, pages)
	}
	if got := read(func(f *os.File) io.Reader { return &dropBehind{f: f} }); !bytes.Equal(got, data) {
		t.Fatal("read through dropBehind: content differs")
	}
	if n := resident(t, path, len(data)); n > pages/10 {
		t.Errorf("after reading through dropBehind %d of its %d pages are still cached", n, pages)
	}
}
