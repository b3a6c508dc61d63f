package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// runChild runs one role of a child process (see TestMain). The store is
// STORE_DIR.
func runChild(role string) int {
	s := Open(os.Getenv("STORE_DIR"))
	s.LockTimeout = 30 * time.Second
	ctx := context.Background()
	switch role {
	case "hold-lock":
		// Take the lock, say so, and keep it until stdin closes.
		unlock, err := s.Lock(ctx, "holding for a test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("locked")
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		unlock()
		return 0
	case "commit":
		// Commit STORE_TEXT as a snapshot of testKey.
		_, err := s.Commit(ctx, testKey, Meta{Module: "test"}, func(d *Dump) error {
			w, err := d.Create("dump.sql")
			if err != nil {
				return err
			}
			io.WriteString(w, os.Getenv("STORE_TEXT"))
			return w.Close()
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "exit":
		return 3
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}
