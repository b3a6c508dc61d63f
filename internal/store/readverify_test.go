package store

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// ReadVerifying opens a snapshot before its verification has finished; the
// outcome comes from Verified: nil for an intact snapshot (ours or
// upstream's), an integrity error for a damaged one, whose bytes can still
// be read (the caller discards what it loaded); a missing snapshot is
// refused at once.
func TestReadVerifying(t *testing.T) {
	s := newStore(t)
	text := strings.Repeat("row\n", 50000)
	c := commitText(t, s, testKey, text)
	read := func(sn Snapshot) (string, error) {
		t.Helper()
		p, err := s.ReadVerifying(context.Background(), sn)
		if err != nil {
			t.Fatalf("ReadVerifying %s: %v", sn.Rel(), err)
		}
		r, err := p.Open("dump.sql")
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		data, rerr := io.ReadAll(r)
		r.Close()
		verr := p.Verified()
		if again := p.Verified(); !errors.Is(again, verr) {
			t.Errorf("second Verified = %v, first %v", again, verr)
		}
		if verr == nil && rerr != nil {
			t.Fatalf("read of a verified snapshot: %v", rerr)
		}
		return string(data), verr
	}
	if got, err := read(c.Snapshot); err != nil || got != text {
		t.Errorf("intact snapshot: %d bytes, %v; want %d bytes, nil", len(got), err, len(text))
	}

	up := upstreamSnapshot(t, s, Key{Container: "mysql-database", Component: "up"}, "upstream state\n")
	p, err := s.ReadVerifying(context.Background(), up)
	if err != nil {
		t.Fatalf("ReadVerifying upstream: %v", err)
	}
	if err := p.Verified(); err != nil {
		t.Errorf("upstream snapshot: Verified = %v", err)
	}

	flipByte(t, filepath.Join(s.SnapshotDir(c.Snapshot), "dump.sql.zst"))
	if _, err := read(c.Snapshot); !isIntegrity(err) {
		t.Errorf("damaged snapshot: Verified = %v, want an integrity error", err)
	}

	missing := Snapshot{Key: testKey, ID: strings.Repeat("0", 52)}
	if _, err := s.ReadVerifying(context.Background(), missing); !isIntegrity(err) {
		t.Errorf("missing snapshot: %v, want an integrity error", err)
	}

	// Read verifies first; its Verified is nil at once.
	again := commitText(t, s, testKey, "other\n")
	rp, err := s.Read(context.Background(), again.Snapshot)
	if err != nil || rp.Verified() != nil {
		t.Errorf("Read: %v, Verified %v", err, rp.Verified())
	}
}
