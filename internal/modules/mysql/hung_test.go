package mysql

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A server that accepts connections on its socket and never sends its
// greeting makes connect give up after the container's timeout (here 1 s;
// one attempt alone would wait 5 s), with a message naming that timeout.
func TestConnectHonoursTimeoutOnHungServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "mysqld.sock")
	l, err := net.Listen("unix", sock)
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
			conns = append(conns, c)
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
	s := settings{user: "root", socket: sock, timeout: time.Second}
	start := time.Now()
	db, err := connect(context.Background(), s, &recorder{}, true)
	took := time.Since(start)
	if err == nil {
		db.Close()
		t.Fatal("connected to a server that never answers")
	}
	if !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Errorf("error = %v; want it to name the 1s timeout", err)
	}
	if took < time.Second || took > 4*time.Second {
		t.Errorf("connect took %s with timeout=1", took.Round(10*time.Millisecond))
	}
}
