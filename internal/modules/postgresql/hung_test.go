package postgresql

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hungServer listens on a PostgreSQL socket in a new directory, accepts
// every connection and never answers, like a server stuck in recovery or
// behind a full disk. It returns the socket directory and port.
func hungServer(t *testing.T) (string, int) {
	t.Helper()
	dir := t.TempDir()
	const port = 54329
	l, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL.54329"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return dir, port
}

// The container's timeout bounds the whole wait for the server, including
// an attempt the server accepts and never answers (the connect timeout of
// one attempt is 10 s), and the message names the timeout honoured.
func TestWaitHonoursTimeoutOnHungServer(t *testing.T) {
	dir, port := hungServer(t)
	ss := &session{settings: &settings{User: "nobody", Port: port, RuntimeDir: dir, Timeout: 2 * time.Second}}
	start := time.Now()
	conn, err := ss.wait(context.Background(), &recorder{}, "postgres")
	took := time.Since(start)
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("connected to a server that never answers")
	}
	if !strings.Contains(err.Error(), "did not answer within 2s") {
		t.Errorf("error = %v; want it to name the 2s timeout", err)
	}
	// Well below one attempt's 10 s connect timeout: the wait ended
	// because its own deadline passed.
	if took < 2*time.Second || took > 6*time.Second {
		t.Errorf("the wait took %s with timeout=2", took.Round(10*time.Millisecond))
	}
}
