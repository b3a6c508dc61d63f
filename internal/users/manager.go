package users

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/program"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// sbinDirs are searched for the account tools after PATH.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/run/current-system/sw/bin"}

// Manager carries out the operations with the system's account tools.
type Manager struct {
	Env            []string // environment of the tools (PATH in particular)
	Stdout, Stderr io.Writer
	Report         ui.Reporter
	// Attempts is how many times DelUsers and DelGroups try each deletion,
	// one second apart (userdel refuses while a process of the user is
	// still exiting); 0 or 1 means once.
	Attempts int
}

func (m *Manager) report() ui.Reporter {
	if m.Report == nil {
		return ui.Discard
	}
	return m.Report
}

func (m *Manager) runner(stdin io.Reader) program.Runner {
	return program.Runner{Env: m.Env, Stdin: stdin, Stdout: m.Stdout, Stderr: m.Stderr, ExtraDirs: sbinDirs}
}

// AddGroups creates the groups path declares that do not exist yet.
func (m *Manager) AddGroups(ctx context.Context, path string) error {
	groups, err := LoadGroups(path, m.report().Warnf)
	if err != nil {
		return fmt.Errorf("add groups of %s: %w", path, err)
	}
	for _, g := range groups {
		e, ok, err := m.lookup(ctx, "group", g.Name)
		if err != nil {
			return fmt.Errorf("add group %s: %w", g.Name, err)
		}
		if ok {
			if g.GID != "" && e.id != g.GID {
				m.report().Warnf("group %s already exists with gid %s, not the requested %s; it is kept as it is", g.Name, e.id, g.GID)
			} else {
				m.report().Infof("group %s already exists", g.Name)
			}
			continue
		}
		var args []string
		if g.GID != "" {
			args = append(args, "-g", g.GID)
		}
		args = append(args, g.Name)
		if err := m.runner(nil).Run(ctx, "groupadd", args...); err != nil {
			return fmt.Errorf("add group %s (%s): %w", g.Name, g.File, err)
		}
		m.report().Infof("added group %s", g.Name)
	}
	return nil
}

// AddUsers creates the users path declares that do not exist yet (or only
// their home directories, for createHomeDirOnly specs).
func (m *Manager) AddUsers(ctx context.Context, path string) error {
	users, err := LoadUsers(path, m.report().Warnf)
	if err != nil {
		return fmt.Errorf("add users of %s: %w", path, err)
	}
	for _, u := range users {
		if u.CreateHomeDirOnly {
			if u.HomeDir != "" && u.CreateHomeDir {
				if err := os.MkdirAll(u.HomeDir, 0o755); err != nil {
					return fmt.Errorf("create home directory of %s (%s): %w", u.Name, u.File, err)
				}
			}
			continue
		}
		e, ok, err := m.lookup(ctx, "passwd", u.Name)
		if err != nil {
			return fmt.Errorf("add user %s: %w", u.Name, err)
		}
		if ok {
			if u.UID != "" && e.id != u.UID {
				m.report().Warnf("user %s already exists with uid %s, not the requested %s; it is kept as it is", u.Name, e.id, u.UID)
			} else {
				m.report().Infof("user %s already exists", u.Name)
			}
			continue
		}
		if err := m.runner(nil).Run(ctx, "useradd", useraddArgs(u)...); err != nil {
			return fmt.Errorf("add user %s (%s): %w", u.Name, u.File, err)
		}
		if u.Password != "" {
			in := strings.NewReader(u.Name + ":" + u.Password + "\n")
			if err := m.runner(in).Run(ctx, "chpasswd", "-e"); err != nil {
				return fmt.Errorf("set the password of user %s (%s): %w", u.Name, u.File, err)
			}
		}
		m.report().Infof("added user %s", u.Name)
	}
	return nil
}

func useraddArgs(u User) []string {
	var args []string
	if u.UID != "" {
		args = append(args, "-u", u.UID)
	}
	if u.Group != "" {
		args = append(args, "-g", u.Group)
	}
	if u.Description != "" {
		args = append(args, "-c", u.Description)
	}
	home := u.HomeDir
	if home == "" {
		home = "/dev/null"
	}
	args = append(args, "-d", home)
	if u.Shell != "" {
		args = append(args, "-s", u.Shell)
	}
	if u.CreateHomeDir {
		args = append(args, "-m")
	}
	return append(args, u.Name)
}

// DelUsers deletes the users path declares that exist. Home directories are
// kept.
func (m *Manager) DelUsers(ctx context.Context, path string) error {
	users, err := LoadUsers(path, m.report().Warnf)
	if err != nil {
		return fmt.Errorf("delete users of %s: %w", path, err)
	}
	var errs []error
	for _, u := range users {
		if u.CreateHomeDirOnly {
			continue
		}
		if err := m.retry(ctx, func() error { return m.del(ctx, "passwd", "userdel", u.Name) }); err != nil {
			errs = append(errs, fmt.Errorf("delete user %s (%s): %w", u.Name, u.File, err))
		}
	}
	return errors.Join(errs...)
}

// DelGroups deletes the groups path declares that exist.
func (m *Manager) DelGroups(ctx context.Context, path string) error {
	groups, err := LoadGroups(path, m.report().Warnf)
	if err != nil {
		return fmt.Errorf("delete groups of %s: %w", path, err)
	}
	var errs []error
	for _, g := range groups {
		if err := m.retry(ctx, func() error { return m.del(ctx, "group", "groupdel", g.Name) }); err != nil {
			errs = append(errs, fmt.Errorf("delete group %s (%s): %w", g.Name, g.File, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) del(ctx context.Context, db, prog, name string) error {
	_, ok, err := m.lookup(ctx, db, name)
	if err != nil || !ok {
		return err
	}
	if err := m.runner(nil).Run(ctx, prog, name); err != nil {
		return err
	}
	m.report().Infof("deleted %s %s", map[string]string{"passwd": "user", "group": "group"}[db], name)
	return nil
}

// retry runs f up to m.Attempts times, one second apart.
func (m *Manager) retry(ctx context.Context, f func() error) error {
	n := max(m.Attempts, 1)
	var err error
	for i := 1; i <= n; i++ {
		if err = f(); err == nil {
			return nil
		}
		if i < n {
			m.report().Warnf("%v; trying again in a second (attempt %d of %d)", err, i+1, n)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return err
}

// entry is what lookup found: the numeric id.
type entry struct{ id string }

// lookup asks getent whether name exists in db ("passwd" or "group"); with
// no getent, it reads /etc/passwd or /etc/group.
func (m *Manager) lookup(ctx context.Context, db, name string) (entry, bool, error) {
	if _, err := program.Look(m.Env, "getent", "/usr/bin", "/bin"); err == nil {
		r := m.runner(nil)
		r.Stderr = nil
		r.ExtraDirs = []string{"/usr/bin", "/bin"}
		out, err := r.Output(ctx, "getent", db, name)
		var te *program.Error
		if errors.As(err, &te) && te.Status == 2 {
			return entry{}, false, nil // not found
		}
		if err != nil {
			return entry{}, false, err
		}
		return parseEntry(strings.TrimSpace(string(out)), name)
	}
	f, err := os.Open("/etc/" + db)
	if err != nil {
		return entry{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if e, ok, _ := parseEntry(sc.Text(), name); ok {
			return e, true, nil
		}
	}
	return entry{}, false, sc.Err()
}

// parseEntry reads the id from a passwd or group line of name.
func parseEntry(line, name string) (entry, bool, error) {
	fields := strings.Split(line, ":")
	if len(fields) < 3 || fields[0] != name {
		return entry{}, false, nil
	}
	return entry{id: fields[2]}, true, nil
}
