package fileset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Spec is a fileset component read from its dot-files, with the container
// properties applied.
type Spec struct {
	TargetDir string   // absolute directory the fileset lives in
	Owner     *Owner   // nil: leave ownership as created
	Mkdirs    []string // mutable directories, relative to TargetDir
	Links     []Link   // symlinks into the component
}

// Link is a symlink TargetDir/Dir/basename(Source) pointing at Source.
type Link struct {
	Source string // absolute path the link points to
	Dir    string // directory relative to TargetDir ("." for TargetDir itself)
}

// Path is the link's path relative to TargetDir.
func (l Link) Path() string { return path.Join(l.Dir, path.Base(l.Source)) }

// Owner is a resolved user:group.
type Owner struct {
	Spec     string
	UID, GID int
}

// LoadSpec reads the component's .dysnomia-targetdir, .dysnomia-fileset and
// .dysnomia-filesetowner, overridden by the targetDir and filesetOwner
// properties. Every directive is checked before anything is changed.
func LoadSpec(req *module.Request) (*Spec, error) {
	comp := req.Component.Path
	s := &Spec{}
	s.TargetDir = req.Property("targetDir", "")
	if s.TargetDir == "" {
		data, err := os.ReadFile(filepath.Join(comp, ".dysnomia-targetdir"))
		if err != nil {
			return nil, fmt.Errorf("fileset %s: no targetDir property and %w", req.Component.Name, err)
		}
		s.TargetDir = strings.TrimSpace(string(data))
	}
	if !filepath.IsAbs(s.TargetDir) {
		return nil, fmt.Errorf("fileset %s: target directory %q is not absolute", req.Component.Name, s.TargetDir)
	}
	s.TargetDir = filepath.Clean(s.TargetDir)

	ownerSpec := req.Property("filesetOwner", "")
	if ownerSpec == "" {
		data, err := os.ReadFile(filepath.Join(comp, ".dysnomia-filesetowner"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fileset %s: %w", req.Component.Name, err)
		}
		ownerSpec = strings.TrimSpace(string(data))
	}
	if ownerSpec != "" {
		o, err := lookupOwner(ownerSpec)
		if err != nil {
			return nil, fmt.Errorf("fileset %s: owner %q: %w", req.Component.Name, ownerSpec, err)
		}
		s.Owner = o
	}

	file := filepath.Join(comp, ".dysnomia-fileset")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fileset %s: %w", req.Component.Name, err)
	}
	if err := s.parse(file, data, comp); err != nil {
		return nil, fmt.Errorf("fileset %s: %w", req.Component.Name, err)
	}
	return s, nil
}

// parse reads the directives: "mkdir REL", and "symlink PATH" followed by
// "target REL". Blank lines and # comments are ignored; anything else is an
// error naming the file and line.
func (s *Spec) parse(file string, data []byte, comp string) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var pending string
	pendingLine := 0
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(text, " ")
		arg = strings.TrimSpace(arg)
		if arg == "" {
			return fmt.Errorf("%s:%d: %q needs a path", file, line, verb)
		}
		switch verb {
		case "mkdir":
			rel, err := relPath(arg)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", file, line, err)
			}
			if rel == "." {
				return fmt.Errorf("%s:%d: mkdir . would make the whole target directory state; list its subdirectories instead", file, line)
			}
			s.Mkdirs = append(s.Mkdirs, rel)
		case "symlink":
			if pending != "" {
				return fmt.Errorf("%s:%d: symlink %q has no target line", file, pendingLine, pending)
			}
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(comp, arg)
			}
			pending, pendingLine = filepath.Clean(arg), line
		case "target":
			if pending == "" {
				return fmt.Errorf("%s:%d: target without a preceding symlink line", file, line)
			}
			rel, err := relPath(arg)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", file, line, err)
			}
			s.Links = append(s.Links, Link{Source: pending, Dir: rel})
			pending = ""
		default:
			return fmt.Errorf("%s:%d: unknown directive %q (want mkdir, symlink or target)", file, line, verb)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if pending != "" {
		return fmt.Errorf("%s:%d: symlink %q has no target line", file, pendingLine, pending)
	}
	return nil
}

// relPath accepts a path inside the target directory.
func relPath(p string) (string, error) {
	clean := path.Clean(p)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %q leaves the target directory", p)
	}
	return clean, nil
}

func lookupOwner(spec string) (*Owner, error) {
	userName, groupName, _ := strings.Cut(spec, ":")
	o := &Owner{Spec: spec, UID: -1, GID: -1}
	if userName != "" {
		if id, err := strconv.Atoi(userName); err == nil {
			o.UID = id
		} else {
			u, err := user.Lookup(userName)
			if err != nil {
				return nil, err
			}
			o.UID, _ = strconv.Atoi(u.Uid)
			if groupName == "" {
				o.GID, _ = strconv.Atoi(u.Gid)
			}
		}
	}
	if groupName != "" {
		if id, err := strconv.Atoi(groupName); err == nil {
			o.GID = id
		} else {
			g, err := user.LookupGroup(groupName)
			if err != nil {
				return nil, err
			}
			o.GID, _ = strconv.Atoi(g.Gid)
		}
	}
	return o, nil
}

// chownTree gives root and everything below it to the owner.
func (o *Owner) chownTree(root string) error {
	if o == nil {
		return nil
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, o.UID, o.GID)
	})
}
