package program

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// User is an OS user a program runs as.
type User struct {
	Name     string
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	Home     string
}

// LookupUser finds the OS user name (a name or a numeric uid) with its
// groups. The error names the user.
func LookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("OS user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("OS user %q: uid %q gid %q are not numbers", name, u.Uid, u.Gid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of OS user %q: %w", name, err)
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 32); err == nil {
			groups = append(groups, uint32(n))
		}
	}
	return &User{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Groups: groups, Home: u.HomeDir}, nil
}

// Switches reports whether running a program as u needs a change of
// identity: the process is root and u is another user. A nil User never
// switches.
func (u *User) Switches() bool {
	return u != nil && os.Geteuid() == 0 && (u.UID != 0 || u.GID != 0)
}

// Is reports whether the process already runs as u.
func (u *User) Is() bool {
	return u != nil && uint32(os.Geteuid()) == u.UID
}

// environ is env with HOME, USER and LOGNAME of u.
func (u *User) environ(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "USER" || k == "LOGNAME" {
			continue
		}
		out = append(out, kv)
	}
	home := u.Home
	if home == "" {
		home = "/"
	}
	return append(out, "HOME="+home, "USER="+u.Name, "LOGNAME="+u.Name)
}
