// Command memory measures what this machine charges for memory the kernel
// hands out: the time to touch every page of a fresh anonymous mapping,
// first right after the same amount was freed, then after a pause.
//
//	go run ./bench/memory [-gib 6] [-pause 30s]
//
// On bare metal both cost the same (the kernel zeroes each page). On a
// virtual machine whose free memory goes back to the host (free page
// reporting, ballooning), a page the guest has not used lately faults in
// the host on first use as well, and costs more: a load that writes a new
// database then pays for every page of its page cache, unless pages freed
// seconds before (a database just dropped) are reused. bench/postgresql's
// loads each start after another step dropped its database, so that none
// of them has that advantage over the others.
package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	gib := flag.Int("gib", 6, "GiB to touch; more than the machine used lately, less than it has free")
	pause := flag.Duration("pause", 30*time.Second, "pause before the last touch")
	flag.Parse()
	n := *gib << 30
	per := func(d time.Duration) string { return fmt.Sprintf("%.2f s/GiB", d.Seconds()/float64(*gib)) }
	first, err := touch(n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/memory:", err)
		os.Exit(1)
	}
	again, _ := touch(n)
	time.Sleep(*pause)
	later, _ := touch(n)
	fmt.Printf("touch %d GiB: first %s; again at once %s; again after %v %s\n", *gib, per(first), per(again), *pause, per(later))
	fmt.Printf("ratio first/at once %.2f, after the pause/at once %.2f\n", first.Seconds()/again.Seconds(), later.Seconds()/again.Seconds())
}

// touch maps n bytes of anonymous memory, writes one byte to every page,
// unmaps it and returns how long the writes took.
func touch(n int) (time.Duration, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("map %d bytes: %w", n, err)
	}
	start := time.Now()
	for i := 0; i < n; i += os.Getpagesize() {
		b[i] = 1
	}
	d := time.Since(start)
	return d, syscall.Munmap(b)
}
