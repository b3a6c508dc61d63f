package mysqltest

import (
	"errors"
	"os"
	"testing"
)

func TestStartStop(t *testing.T) {
	s, err := Launch(Options{})
	if err != nil {
		if errors.Is(err, ErrNotInstalled) {
			Unavailable(t, err)
		}
		t.Fatal(err)
	}
	rows, err := s.QueryRows("SELECT @@skip_networking, CURRENT_USER()")
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	if got := rows[0][0]; got != "1" {
		t.Errorf("skip_networking = %s, want 1 (Unix socket only)", got)
	}
	if got := rows[0][1]; got == "" {
		t.Errorf("CURRENT_USER() is empty")
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s still exists after Stop: %v", s.Dir, err)
	}
	select {
	case <-s.done:
	default:
		t.Errorf("mariadbd is still running after Stop")
	}
}
