package wait

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestUntilHungServer: a server that accepts connections and never answers
// does not stretch the wait beyond its timeout.
func TestUntilHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	probe := func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		_, err = c.Read(make([]byte, 1))
		return err
	}
	start := time.Now()
	err = Until(context.Background(), 700*time.Millisecond, probe, nil)
	took := time.Since(start)
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if took < 700*time.Millisecond || took > 1200*time.Millisecond {
		t.Errorf("waited %s, want about 700ms", took)
	}
}

func TestUntilReady(t *testing.T) {
	n := 0
	notified := 0
	err := Until(context.Background(), 5*time.Second, func(context.Context) error {
		n++
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	}, func(error) { notified++ })
	if err != nil || n != 3 || notified != 1 {
		t.Errorf("err %v after %d attempts, %d notices; want nil after 3, 1 notice", err, n, notified)
	}
	err = Until(context.Background(), 0, func(context.Context) error { n++; return errors.New("down") }, nil)
	if err == nil {
		t.Error("timeout 0 and a failing probe: no error")
	}
}
