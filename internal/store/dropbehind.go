package store

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// dropStep is how much a dropBehind reads between two page-cache drops.
const dropStep = 16 << 20

// dropBehind reads a payload file once, front to back, and tells the kernel
// every dropStep bytes, and at its end, that the pages behind it are not needed again
// (POSIX_FADV_DONTNEED). A restore reads its snapshot once while the
// server writes the restored database: without this the snapshot's pages
// stay cached beside the database's, and the memory the new database's pages
// take comes from elsewhere (on a virtual machine that hands free memory
// back to its host, from pages that cost a fault in the host on first use;
// bench/memory). The checksum that ReadVerifying computes meanwhile reads
// the same file far faster than a load consumes it, so it has passed these
// pages already; were it behind, it would read them from the disk again,
// with the same result.
type dropBehind struct {
	f        *os.File
	off      int64 // bytes read
	released int64 // pages before this offset have been dropped
}

func (d *dropBehind) Read(p []byte) (int, error) {
	n, err := d.f.Read(p)
	d.off += int64(n)
	if d.off-d.released >= dropStep || (err == io.EOF && d.off > d.released) {
		// Advice only: a failure changes nothing but the cache.
		unix.Fadvise(int(d.f.Fd()), d.released, d.off-d.released, unix.FADV_DONTNEED)
		d.released = d.off
	}
	return n, err
}
