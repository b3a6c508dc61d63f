package peer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql/peer"
	"github.com/dysnomia-go/dysnomia/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func connect(t *testing.T, s *pgtest.Server, as *peer.Identity) (*pgx.Conn, error) {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable", s.SocketDir, s.Port, s.Superuser))
	if err != nil {
		t.Fatal(err)
	}
	d := &peer.Dialer{As: as}
	cfg.DialFunc = d.DialContext
	return pgx.ConnectConfig(context.Background(), cfg)
}

// TestDialAsServerUser: under peer authentication, root is refused as the
// superuser, and the Dialer's connection with the server user's identity
// is accepted; the server sees that user's uid as the peer.
func TestDialAsServerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("borrowing an identity needs root")
	}
	s := pgtest.Start(t)
	if c, err := connect(t, s, nil); err == nil {
		c.Close(context.Background())
		t.Fatal("root connected as the superuser under peer authentication")
	} else if !strings.Contains(err.Error(), "Peer authentication failed") {
		t.Fatalf("root: %v; want a peer authentication failure", err)
	}
	c, err := connect(t, s, s.OS)
	if err != nil {
		t.Fatalf("dial as %s: %v", s.OS.Name, err)
	}
	defer c.Close(context.Background())
	var user string
	if err := c.QueryRow(context.Background(), "select current_user").Scan(&user); err != nil || user != s.Superuser {
		t.Fatalf("current_user = %q, %v", user, err)
	}
}

// TestIdentityDoesNotLeak: while many connections are made with the
// borrowed identity, the rest of the process stays root: files it creates
// meanwhile belong to root, and os.Geteuid stays 0.
func TestIdentityDoesNotLeak(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("borrowing an identity needs root")
	}
	s := pgtest.Start(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c, err := connect(t, s, s.OS)
			if err != nil {
				errs <- err
				return
			}
			c.Close(context.Background())
		}()
		go func(i int) {
			defer wg.Done()
			p := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				errs <- err
				return
			}
			st := mustStat(p)
			if st != 0 || os.Geteuid() != 0 {
				errs <- fmt.Errorf("file %d owned by uid %d, euid %d", i, st, os.Geteuid())
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLookup: unknown users are nil, not errors.
func TestLookup(t *testing.T) {
	id, err := peer.Lookup("no-such-user-dysnomia")
	if err != nil || id != nil {
		t.Fatalf("Lookup of an unknown user = %v, %v", id, err)
	}
	id, err = peer.Lookup("root")
	if err != nil || id == nil || id.UID != 0 {
		t.Fatalf("Lookup(root) = %+v, %v", id, err)
	}
	if id.Switches() {
		t.Fatal("root needs no switch")
	}
}

// mustStat returns the owner uid of p, or -1.
func mustStat(p string) int {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
