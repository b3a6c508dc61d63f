// Package users creates and deletes the user accounts and groups that a
// component declares, as upstream's dysnomia-addusers, -delusers,
// -addgroups and -delgroups do, so that a service can run as its own user.
//
// # Spec files
//
// A path names the specs: a regular file is one spec; a directory holds its
// specs in dysnomia-support/users/ and dysnomia-support/groups/ (one file
// each; dot files are skipped); a directory without them declares nothing.
// A spec is a key=value file (the syntax of container files, read without
// running shell code) whose base name is the user's or group's name.
//
//	user keys:  uid, password (already encrypted, crypt(3) form), group,
//	            description, homeDir, createHomeDir=1, shell,
//	            createHomeDirOnly=1 (only create homeDir, no account)
//	group keys: gid
//
// Unknown keys are reported as warnings. Every spec is read and checked
// before anything changes.
//
// # What each operation does
//
//   - AddGroups runs groupadd [-g GID] NAME for each group that does not
//     exist; an existing one is left as it is (with a warning if its gid
//     differs).
//   - AddUsers runs useradd [-u UID] [-g GROUP] [-c DESC] -d HOME|/dev/null
//     [-s SHELL] [-m] NAME for each user that does not exist, then sets the
//     password with chpasswd -e, which reads it from standard input (never
//     from a command line, unlike upstream's useradd -p). With
//     createHomeDirOnly=1 it only creates homeDir, when createHomeDir=1.
//   - DelUsers runs userdel NAME for each existing user (not for
//     createHomeDirOnly specs); home directories are kept.
//   - DelGroups runs groupdel NAME for each existing group.
//
// All four are idempotent. Existence is asked of getent (so NSS sources
// count), or of /etc/passwd and /etc/group where getent is missing. The
// programs run with argument vectors, never through a shell, found on the
// environment's PATH and then in /usr/sbin and /sbin.
package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
)

// User is one user spec.
type User struct {
	File              string // the spec file
	Name              string
	UID               string
	Password          string // encrypted
	Group             string
	Description       string
	HomeDir           string
	CreateHomeDir     bool
	Shell             string
	CreateHomeDirOnly bool
}

// Group is one group spec.
type Group struct {
	File string
	Name string
	GID  string
}

var (
	userKeys  = []string{"uid", "password", "group", "description", "homeDir", "createHomeDir", "shell", "createHomeDirOnly"}
	groupKeys = []string{"gid"}
)

// InvalidPathError is a path that does not exist.
type InvalidPathError struct{ Path string }

func (e *InvalidPathError) Error() string {
	return fmt.Sprintf("the path %s is not valid: it does not exist", e.Path)
}

// specFiles lists the spec files path names for kind ("users" or
// "groups"), sorted by name.
func specFiles(path, kind string) ([]string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &InvalidPathError{Path: path}
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		return []string{path}, nil
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a spec file or a component directory", path)
	}
	dir := filepath.Join(path, "dysnomia-support", kind)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: a %s spec must be a file", p, strings.TrimSuffix(kind, "s"))
		}
		files = append(files, p)
	}
	sort.Strings(files)
	return files, nil
}

// ValidName checks a user or group name as far as this program relies on
// it: the account tools check the rest.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("name %q starts with '-'", name)
	case strings.ContainsAny(name, ":/,") || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("name %q contains a colon, slash, comma, blank or control character", name)
	}
	return nil
}

// readSpec parses one spec file and checks its name and keys.
func readSpec(file string, known []string, warn func(string, ...any)) (string, map[string]string, error) {
	if warn == nil {
		warn = func(string, ...any) {}
	}
	name := filepath.Base(file)
	if err := ValidName(name); err != nil {
		return "", nil, fmt.Errorf("%s: %w", file, err)
	}
	props, err := config.ParseFile(file, config.ShellReject)
	if err != nil {
		return "", nil, err
	}
	vals := props.Map()
	for _, p := range props {
		if !contains(known, p.Key) {
			warn("%s: unknown key %q ignored (known: %s)", file, p.Key, strings.Join(known, ", "))
		}
	}
	return name, vals, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func checkID(file, key, v string) error {
	if v == "" {
		return nil
	}
	if n, err := strconv.ParseUint(v, 10, 32); err != nil || n == 1<<32-1 {
		return fmt.Errorf("%s: %s=%q is not a numeric id", file, key, v)
	}
	return nil
}

// LoadUsers reads the user specs path names.
func LoadUsers(path string, warn func(string, ...any)) ([]User, error) {
	files, err := specFiles(path, "users")
	if err != nil {
		return nil, err
	}
	var out []User
	var errs []error
	for _, f := range files {
		name, v, err := readSpec(f, userKeys, warn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkID(f, "uid", v["uid"]); err != nil {
			errs = append(errs, err)
			continue
		}
		if g := v["group"]; g != "" {
			if err := ValidName(g); err != nil {
				errs = append(errs, fmt.Errorf("%s: group: %w", f, err))
				continue
			}
		}
		if strings.ContainsAny(v["password"], ":\n") {
			errs = append(errs, fmt.Errorf("%s: password contains a colon or newline", f))
			continue
		}
		home := v["homeDir"]
		if home != "" && !filepath.IsAbs(home) {
			errs = append(errs, fmt.Errorf("%s: homeDir=%q is not an absolute path", f, home))
			continue
		}
		out = append(out, User{
			File: f, Name: name, UID: v["uid"], Password: v["password"], Group: v["group"],
			Description: v["description"], HomeDir: home, CreateHomeDir: v["createHomeDir"] == "1",
			Shell: v["shell"], CreateHomeDirOnly: v["createHomeDirOnly"] == "1",
		})
	}
	return out, errors.Join(errs...)
}

// LoadGroups reads the group specs path names.
func LoadGroups(path string, warn func(string, ...any)) ([]Group, error) {
	files, err := specFiles(path, "groups")
	if err != nil {
		return nil, err
	}
	var out []Group
	var errs []error
	for _, f := range files {
		name, v, err := readSpec(f, groupKeys, warn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkID(f, "gid", v["gid"]); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Group{File: f, Name: name, GID: v["gid"]})
	}
	return out, errors.Join(errs...)
}
