//go:build !linux

package peer

import (
	"context"
	"errors"
	"net"
	"os/user"
	"strconv"
	"time"
)

// Identity is an operating-system user to connect as.
type Identity struct {
	Name     string
	UID, GID int
}

// Lookup finds the OS user name; nil when there is none.
func Lookup(name string) (*Identity, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, nil
		}
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &Identity{Name: name, UID: uid, GID: gid}, nil
}

// Switches is always false here: only Linux borrows another identity.
func (id *Identity) Switches() bool { return false }

// Dialer dials as the process itself on systems other than Linux.
type Dialer struct {
	As      *Identity
	Timeout time.Duration
}

// DialContext connects to addr.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.Timeout}
	return nd.DialContext(ctx, network, addr)
}
