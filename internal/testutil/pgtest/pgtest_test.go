package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestSharedServer checks that the shared server answers through psql and
// through the peer dialer, and that it is the same server for every test.
func TestSharedServer(t *testing.T) {
	s := Start(t)
	if s2 := Start(t); s2 != s {
		t.Fatalf("Start returned a different server the second time")
	}
	if got := s.Psql(t, "postgres", "select 40 + 2"); got != "42" {
		t.Fatalf("psql: got %q, want 42", got)
	}
	conn := s.Connect(t, "postgres")
	var user string
	if err := conn.QueryRow(context.Background(), "select current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != s.Superuser {
		t.Fatalf("current_user = %q, want %q", user, s.Superuser)
	}
	props := s.Properties().Map()
	if props["postgresqlRuntimeDir"] != s.SocketDir || props["postgresqlUsername"] != s.Superuser {
		t.Fatalf("Properties() = %v", props)
	}
	if _, err := os.Stat(s.SocketDir + "/.s.PGSQL." + props["postgresqlPort"]); err != nil {
		t.Fatalf("socket named by the properties: %v", err)
	}
}

// TestPeerAuthenticationIsEnforced shows the test server really uses peer
// authentication: as root, a plain connection claiming to be the superuser
// is refused, so tests that pass do so because they connect as the OS user.
func TestPeerAuthenticationIsEnforced(t *testing.T) {
	s := Start(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: the peer identity of a non-root test is the server's own user")
	}
	cfg, err := pgx.ParseConfig("host=" + s.SocketDir + " user=" + s.Superuser + " dbname=postgres sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port = uint16(s.Port)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("a root connection as the superuser was accepted; want peer authentication failure")
	}
	if !strings.Contains(err.Error(), "Peer authentication failed") {
		t.Fatalf("error = %v; want a peer authentication failure", err)
	}
}

// TestStartNewTrust starts a second, independent server with trust
// authentication and checks it is stopped and removed.
func TestStartNewTrust(t *testing.T) {
	shared := Start(t)
	var dir string
	t.Run("server", func(t *testing.T) {
		s := StartNew(t, Options{Auth: "trust"})
		dir = s.Dir
		if s.SocketDir == shared.SocketDir {
			t.Fatal("StartNew shares the socket directory")
		}
		if got := s.Psql(t, "postgres", "show fsync"); got != "off" {
			t.Fatalf("fsync = %q, want off for tests", got)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("server directory %s still exists after the test: %v", dir, err)
	}
}
