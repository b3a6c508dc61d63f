package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// SystemVersion is the version of the system config this package reads.
const SystemVersion = 1

// System is a decoded and validated system config (docs/system-config.md):
// the containers and components a machine declares, and its snapshot and
// garbage policies. The NixOS module generates it; `dysnomia system check`
// validates it, `system switch` applies it, `system pre-switch` compares two
// of them.
type System struct {
	Version  int
	StateDir string // "" when the config leaves it to the environment
	// Properties are the machine properties, sorted by key.
	Properties Properties
	Containers map[string]*SystemContainer
	// Components maps a container name to its components by name. Every
	// container named here is in Containers.
	Components map[string]map[string]*SystemComponent
	Snapshots  SnapshotPolicy
	Garbage    GarbagePolicy
}

// SystemContainer is a declared container.
type SystemContainer struct {
	Type string
	// Properties are handed to the module, sorted by key; never "type".
	Properties Properties
	// SecretFiles maps a property name to the absolute path of a file
	// holding a secret. The module gets the path and reads the file.
	SecretFiles   map[string]string
	ServerPackage string // store path of the server; "" when not declared
}

// SystemComponent is a declared component.
type SystemComponent struct {
	Path string // absolute; its name (NameOf) is the component's name
	// Properties are merged over the container's, sorted by key.
	Properties Properties
}

// SnapshotPolicy says what `system pre-switch` snapshots.
type SnapshotPolicy struct {
	BeforeUpgrade string // BeforeChanged, BeforeAlways or BeforeNever
	Keep          int    // generations kept per snapshotted component; 0 keeps all
	OnFailure     string // FailureAbort or FailureContinue
	OnBoot        string // BootSnapshot or BootSkip
	// RestoreAfterUpgrade: switch creates the database of a component
	// whose server changed by restoring its pre-upgrade snapshot (default
	// true).
	RestoreAfterUpgrade bool
}

// GarbagePolicy says what `system switch` does with removed components.
type GarbagePolicy struct {
	Removed string // RemovedKeep or RemovedDelete
}

// Values of the policies.
const (
	BeforeChanged   = "changed"
	BeforeAlways    = "always"
	BeforeNever     = "never"
	FailureAbort    = "abort"
	FailureContinue = "continue"
	BootSnapshot    = "snapshot"
	BootSkip        = "skip"
	RemovedKeep     = "keep"
	RemovedDelete   = "delete"
)

// Container returns the declared container named name, or nil.
func (s *System) Container(name string) *SystemContainer { return s.Containers[name] }

// ContainerNames lists the declared containers, sorted.
func (s *System) ContainerNames() []string { return sortedKeys(s.Containers) }

// ComponentNames lists the components declared in container, sorted.
func (s *System) ComponentNames(container string) []string {
	return sortedKeys(s.Components[container])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Problem is one thing wrong with a system config, at a JSON path such as
// containers["pg"].type.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// SystemError lists every problem of a system config.
type SystemError struct {
	File     string // "" when decoded from memory
	Problems []Problem
}

func (e *SystemError) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "system config"
	}
	if len(e.Problems) == 1 {
		return name + ": " + e.Problems[0].String()
	}
	fmt.Fprintf(&b, "%s: %d problems:", name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// LoadSystem reads and decodes a system config file. Problems with its
// content come back as a *SystemError naming the file.
func LoadSystem(path string) (*System, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read system config: %w", err)
	}
	s, err := DecodeSystem(data)
	var se *SystemError
	if errors.As(err, &se) {
		se.File = path
	}
	return s, err
}

// DecodeSystem decodes and validates a system config strictly: unknown
// fields, duplicate fields, values of the wrong type, bad enum values,
// missing required fields, invalid names, relative or store secret paths,
// components of undeclared containers and trailing data are all errors.
// Every problem is reported (a *SystemError), not only the first; a syntax
// error stops decoding and is reported with its line and column.
func DecodeSystem(data []byte) (*System, error) {
	root, perr := parseJSON(data)
	if perr != nil {
		return nil, &SystemError{Problems: []Problem{*perr}}
	}
	c := &checker{}
	s := c.system(root)
	if len(c.problems) > 0 {
		return nil, &SystemError{Problems: c.problems}
	}
	return s, nil
}

// --- JSON tree -------------------------------------------------------------

type jsonKind int

const (
	jNull jsonKind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

var kindNames = [...]string{"null", "a boolean", "a number", "a string", "a list", "an object"}

func (k jsonKind) String() string { return kindNames[k] }

type member struct {
	key string
	val *jsonNode
}

type jsonNode struct {
	kind    jsonKind
	b       bool
	num     json.Number
	str     string
	arr     []*jsonNode
	members []member // in document order, duplicates kept
}

const maxDepth = 64

// rootPath names the top level in problems.
const rootPath = "(top level)"

// parseJSON reads exactly one JSON value, keeping object members in order
// (so duplicates can be reported), and rejects anything after it.
func parseJSON(data []byte) (*jsonNode, *Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	syntax := func(err error) *Problem {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &Problem{Path: rootPath, Msg: "unexpected end of input: not a complete JSON value"}
		}
		return &Problem{Path: rootPath, Msg: fmt.Sprintf("invalid JSON at %s: %v", position(data, off), err)}
	}
	var read func(depth int) (*jsonNode, error)
	read = func(depth int) (*jsonNode, error) {
		if depth > maxDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case nil:
			return &jsonNode{kind: jNull}, nil
		case bool:
			return &jsonNode{kind: jBool, b: t}, nil
		case json.Number:
			return &jsonNode{kind: jNumber, num: t}, nil
		case string:
			return &jsonNode{kind: jString, str: t}, nil
		case json.Delim:
			switch t {
			case '[':
				n := &jsonNode{kind: jArray}
				for dec.More() {
					v, err := read(depth + 1)
					if err != nil {
						return nil, err
					}
					n.arr = append(n.arr, v)
				}
				_, err := dec.Token() // ']'
				return n, err
			case '{':
				n := &jsonNode{kind: jObject}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					key, _ := kt.(string)
					v, err := read(depth + 1)
					if err != nil {
						return nil, err
					}
					n.members = append(n.members, member{key, v})
				}
				_, err := dec.Token() // '}'
				return n, err
			}
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	}
	root, err := read(0)
	if err != nil {
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		return nil, &Problem{Path: rootPath, Msg: fmt.Sprintf("trailing data after the top-level object at %s", position(data, off))}
	}
	return root, nil
}

// position turns a byte offset into "line L, column C".
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

// --- validation --------------------------------------------------------------

// namePattern is what container, component and module type names must match.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`)

// keyPattern is what property names must match: shell variable names, so
// that they can be environment variables and container file keys.
var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type checker struct {
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func field(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func index(parent, key string) string { return parent + "[" + strconv.Quote(key) + "]" }

func (c *checker) want(path string, n *jsonNode, kind jsonKind) bool {
	if n.kind != kind {
		c.add(orRoot(path), "want %s, got %s", kind, n.kind)
		return false
	}
	return true
}

func orRoot(path string) string {
	if path == "" {
		return rootPath
	}
	return path
}

// members checks that n is an object and reports duplicate keys; it returns
// the members in document order, without the duplicates.
func (c *checker) members(path string, n *jsonNode) []member {
	if !c.want(path, n, jObject) {
		return nil
	}
	seen := map[string]bool{}
	out := make([]member, 0, len(n.members))
	for _, m := range n.members {
		if seen[m.key] {
			c.add(index(path, m.key), "duplicate key")
			continue
		}
		seen[m.key] = true
		out = append(out, m)
	}
	return out
}

// fields is members for a record with a fixed set of fields: an unknown
// field is a problem (at its own path); the known ones come back by name.
func (c *checker) fields(path string, n *jsonNode, known ...string) map[string]*jsonNode {
	if n.kind != jObject {
		c.want(path, n, jObject)
		return nil
	}
	out := map[string]*jsonNode{}
	for _, m := range n.members {
		fp := field(path, m.key)
		if !contains(known, m.key) {
			c.add(fp, "unknown field (known fields: %s)", strings.Join(known, ", "))
			continue
		}
		if _, dup := out[m.key]; dup {
			c.add(fp, "duplicate field")
			continue
		}
		out[m.key] = m.val
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func (c *checker) str(path string, n *jsonNode) (string, bool) {
	if !c.want(path, n, jString) {
		return "", false
	}
	if strings.ContainsRune(n.str, 0) {
		c.add(path, "contains a NUL character")
		return "", false
	}
	return n.str, true
}

func (c *checker) enum(path string, n *jsonNode, def string, values ...string) string {
	if n == nil {
		return def
	}
	s, ok := c.str(path, n)
	if !ok {
		return def
	}
	if !contains(values, s) {
		c.add(path, "%s is not one of %s", strconv.Quote(s), quoteAll(values))
		return def
	}
	return s
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func (c *checker) absPath(path string, n *jsonNode) (string, bool) {
	s, ok := c.str(path, n)
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(s) {
		c.add(path, "%s is not an absolute path", strconv.Quote(s))
		return "", false
	}
	return s, true
}

func (c *checker) name(path, what, s string) bool {
	if !namePattern.MatchString(s) {
		c.add(path, "invalid %s name %s: want letters, digits and . _ + - (not first: . + -)", what, strconv.Quote(s))
		return false
	}
	return true
}

func (c *checker) system(root *jsonNode) *System {
	for _, m := range members(root) {
		if m.key == "version" && m.val.kind == jNumber && string(m.val.num) != strconv.Itoa(SystemVersion) {
			// Another version has other fields: reporting them as unknown
			// would only bury the one problem that matters.
			c.add("version", "unsupported version %s: this dysnomia reads version %d", m.val.num, SystemVersion)
			return nil
		}
	}
	f := c.fields("", root, "version", "stateDir", "properties", "containers", "components", "snapshots", "garbage")
	if f == nil {
		return nil
	}
	s := &System{
		Containers: map[string]*SystemContainer{},
		Components: map[string]map[string]*SystemComponent{},
		Snapshots:  SnapshotPolicy{BeforeUpgrade: BeforeChanged, OnFailure: FailureAbort, OnBoot: BootSnapshot, RestoreAfterUpgrade: true},
		Garbage:    GarbagePolicy{Removed: RemovedKeep},
	}
	switch v := f["version"]; {
	case v == nil:
		c.add("version", "missing (required): want %d", SystemVersion)
	case c.want("version", v, jNumber):
		s.Version = SystemVersion
	}
	if v := f["stateDir"]; v != nil {
		if d, ok := c.absPath("stateDir", v); ok {
			s.StateDir = filepath.Clean(d)
		}
	}
	if v := f["properties"]; v != nil {
		s.Properties = c.properties("properties", v, false)
	}
	if v := f["containers"]; v != nil {
		for _, m := range c.members("containers", v) {
			p := index("containers", m.key)
			ok := c.name(p, "container", m.key)
			if sc := c.container(p, m.val); sc != nil && ok {
				s.Containers[m.key] = sc
			}
		}
	}
	if v := f["components"]; v != nil {
		containers := f["containers"]
		for _, m := range c.members("components", v) {
			p := index("components", m.key)
			declared := containers != nil && hasMember(containers, m.key)
			if !declared {
				c.add(p, "container %s is not declared in containers", strconv.Quote(m.key))
			}
			comps := map[string]*SystemComponent{}
			for _, cm := range c.members(p, m.val) {
				cp := index(p, cm.key)
				ok := c.name(cp, "component", cm.key)
				if comp := c.component(cp, cm.key, cm.val); comp != nil && ok {
					comps[cm.key] = comp
				}
			}
			if declared && len(comps) > 0 {
				s.Components[m.key] = comps
			}
		}
	}
	if v := f["snapshots"]; v != nil {
		s.Snapshots = c.snapshots(v, s.Snapshots)
	}
	if v := f["garbage"]; v != nil {
		if g := c.fields("garbage", v, "removed"); g != nil {
			s.Garbage.Removed = c.enum("garbage.removed", g["removed"], RemovedKeep, RemovedKeep, RemovedDelete)
		}
	}
	return s
}

// members returns an object's members, or none for another kind.
func members(n *jsonNode) []member {
	if n.kind != jObject {
		return nil
	}
	return n.members
}

func hasMember(n *jsonNode, key string) bool {
	for _, m := range members(n) {
		if m.key == key {
			return true
		}
	}
	return false
}

func (c *checker) container(path string, n *jsonNode) *SystemContainer {
	f := c.fields(path, n, "type", "properties", "secretFiles", "serverPackage")
	if f == nil {
		return nil
	}
	before := len(c.problems)
	sc := &SystemContainer{}
	if v := f["type"]; v == nil {
		c.add(field(path, "type"), "missing (required): the module type, e.g. \"postgresql-database\"")
	} else if t, ok := c.str(field(path, "type"), v); ok && c.name(field(path, "type"), "module type", t) {
		sc.Type = t
	}
	if v := f["properties"]; v != nil {
		sc.Properties = c.properties(field(path, "properties"), v, true)
	}
	if v := f["secretFiles"]; v != nil {
		sp := field(path, "secretFiles")
		for _, m := range c.members(sp, v) {
			p := index(sp, m.key)
			if !c.propertyKey(p, m.key, true) {
				continue
			}
			if sc.Properties.Has(m.key) {
				c.add(p, "also set in properties: a property is either a value or a secret file")
				continue
			}
			file, ok := c.absPath(p, m.val)
			if !ok {
				continue
			}
			if inStore(file) {
				c.add(p, "%s is in the Nix store, which every user can read: keep secrets outside it (e.g. /run/keys)", strconv.Quote(file))
				continue
			}
			if sc.SecretFiles == nil {
				sc.SecretFiles = map[string]string{}
			}
			sc.SecretFiles[m.key] = filepath.Clean(file)
		}
	}
	if v := f["serverPackage"]; v != nil {
		if p, ok := c.absPath(field(path, "serverPackage"), v); ok {
			sc.ServerPackage = filepath.Clean(p)
		}
	}
	if len(c.problems) > before {
		return nil
	}
	return sc
}

// inStore reports whether file lies in the Nix store (/nix/store, or
// NIX_STORE_DIR when that is set).
func inStore(file string) bool {
	file = filepath.Clean(file)
	for _, dir := range []string{"/nix/store", StoreDir()} {
		if file == dir || strings.HasPrefix(file, dir+"/") {
			return true
		}
	}
	return false
}

func (c *checker) component(path, name string, n *jsonNode) *SystemComponent {
	f := c.fields(path, n, "path", "properties")
	if f == nil {
		return nil
	}
	before := len(c.problems)
	comp := &SystemComponent{}
	if v := f["path"]; v == nil {
		c.add(field(path, "path"), "missing (required): the component's path")
	} else if p, ok := c.absPath(field(path, "path"), v); ok {
		p = filepath.Clean(p)
		// Modules and the snapshot store know a component by the name of
		// its path; a declared name that differs would be another component.
		if got := NameOf(p); got != name {
			c.add(field(path, "path"), "%s is named %s (its base name without a store hash), not %s: the component's name must be the name of its path",
				strconv.Quote(p), strconv.Quote(got), strconv.Quote(name))
		}
		comp.Path = p
	}
	if v := f["properties"]; v != nil {
		comp.Properties = c.properties(field(path, "properties"), v, true)
	}
	if len(c.problems) > before {
		return nil
	}
	return comp
}

func (c *checker) propertyKey(path, key string, noType bool) bool {
	if !keyPattern.MatchString(key) {
		c.add(path, "invalid property name %s: want letters, digits and _, not starting with a digit", strconv.Quote(key))
		return false
	}
	if noType && key == "type" {
		c.add(path, "\"type\" is not a property: it is the container's type field")
		return false
	}
	return true
}

// properties decodes an object of property values: strings, numbers
// (kept as written), booleans ("true" or "false") and lists of strings.
// The result is sorted by key.
func (c *checker) properties(path string, n *jsonNode, noType bool) Properties {
	var ps Properties
	for _, m := range c.members(path, n) {
		p := index(path, m.key)
		if !c.propertyKey(p, m.key, noType) {
			continue
		}
		switch v := m.val; v.kind {
		case jString:
			if s, ok := c.str(p, v); ok {
				ps = append(ps, Property{Key: m.key, Values: []string{s}})
			}
		case jNumber:
			ps = append(ps, Property{Key: m.key, Values: []string{string(v.num)}})
		case jBool:
			ps = append(ps, Property{Key: m.key, Values: []string{strconv.FormatBool(v.b)}})
		case jArray:
			vals := make([]string, 0, len(v.arr))
			ok := true
			for i, e := range v.arr {
				ep := p + "[" + strconv.Itoa(i) + "]"
				if e.kind != jString {
					c.add(ep, "want a string, got %s", e.kind)
					ok = false
					continue
				}
				s, sok := c.str(ep, e)
				ok = ok && sok
				vals = append(vals, s)
			}
			if ok {
				ps = append(ps, Property{Key: m.key, Values: vals, List: true})
			}
		default:
			c.add(p, "want a string, number, boolean or list of strings, got %s", v.kind)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	return ps
}

func (c *checker) snapshots(n *jsonNode, def SnapshotPolicy) SnapshotPolicy {
	f := c.fields("snapshots", n, "beforeUpgrade", "keep", "onFailure", "onBoot", "restoreAfterUpgrade")
	if f == nil {
		return def
	}
	pol := def
	pol.BeforeUpgrade = c.enum("snapshots.beforeUpgrade", f["beforeUpgrade"], def.BeforeUpgrade, BeforeChanged, BeforeAlways, BeforeNever)
	pol.OnFailure = c.enum("snapshots.onFailure", f["onFailure"], def.OnFailure, FailureAbort, FailureContinue)
	pol.OnBoot = c.enum("snapshots.onBoot", f["onBoot"], def.OnBoot, BootSnapshot, BootSkip)
	if v := f["restoreAfterUpgrade"]; v != nil && c.want("snapshots.restoreAfterUpgrade", v, jBool) {
		pol.RestoreAfterUpgrade = v.b
	}
	if v := f["keep"]; v != nil && c.want("snapshots.keep", v, jNumber) {
		k, err := strconv.Atoi(string(v.num))
		if err != nil || k < 0 {
			c.add("snapshots.keep", "%s is not a whole number of generations ≥ 0", v.num)
		} else {
			pol.Keep = k
		}
	}
	return pol
}
