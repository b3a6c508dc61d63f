package system

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Dir is the directory of the system engine's files below the state
// directory: the applied record, the lock and the rendered views.
func Dir(stateDir string) string { return filepath.Join(stateDir, "system") }

// RecordFile is where switch records what it applied.
func RecordFile(stateDir string) string { return filepath.Join(Dir(stateDir), "applied.json") }

// Record is what switch has applied: every component it activated (or found
// unchanged) with the container it ran in, and nothing that failed. It holds
// secret file paths, never secrets.
type Record struct {
	Entries []Entry // sorted by key
}

const recordVersion = 1

type recordJSON struct {
	Version    int               `json:"version"`
	Components []recordComponent `json:"components"`
}

type recordComponent struct {
	Container      string            `json:"container"`
	Component      string            `json:"component"`
	Path           string            `json:"path"`
	Type           string            `json:"type"`
	ContainerProps propsJSON         `json:"containerProperties,omitempty"`
	SecretFiles    map[string]string `json:"secretFiles,omitempty"`
	ServerPackage  string            `json:"serverPackage,omitempty"`
	Properties     propsJSON         `json:"properties,omitempty"`
}

// LoadRecord reads the applied record of stateDir. ok is false when there is
// none (no switch has run yet).
func LoadRecord(stateDir string) (rec *Record, ok bool, err error) {
	file := RecordFile(stateDir)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &Record{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read the applied record: %w", err)
	}
	rec, err = parseRecord(data)
	if err != nil {
		return nil, false, fmt.Errorf("applied record %s: %w; if it cannot be repaired, remove it: the next switch then activates every declared component again (activation is idempotent) and removes nothing", file, err)
	}
	return rec, true, nil
}

func parseRecord(data []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rj recordJSON
	if err := dec.Decode(&rj); err != nil {
		return nil, err
	}
	if rj.Version != recordVersion {
		return nil, fmt.Errorf("version %d, want %d", rj.Version, recordVersion)
	}
	rec := &Record{}
	for _, c := range rj.Components {
		k := store.Key{Container: c.Container, Component: c.Component}
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if !filepath.IsAbs(c.Path) || c.Type == "" {
			return nil, fmt.Errorf("component %s: missing path or type", k)
		}
		rec.Entries = append(rec.Entries, Entry{
			Key:  k,
			Path: c.Path,
			Container: Container{Name: c.Container, Type: c.Type, Properties: config.Properties(c.ContainerProps),
				SecretFiles: c.SecretFiles, ServerPackage: c.ServerPackage},
			Properties: config.Properties(c.Properties),
		})
	}
	sortEntries(rec.Entries)
	return rec, nil
}

// Marshal renders the record as indented JSON.
func (r *Record) Marshal() ([]byte, error) {
	rj := recordJSON{Version: recordVersion, Components: []recordComponent{}}
	for _, e := range r.Entries {
		rj.Components = append(rj.Components, recordComponent{
			Container: e.Container.Name, Component: e.Component, Path: e.Path, Type: e.Container.Type,
			ContainerProps: propsJSON(e.Container.Properties), SecretFiles: e.Container.SecretFiles,
			ServerPackage: e.Container.ServerPackage, Properties: propsJSON(e.Properties),
		})
	}
	data, err := json.MarshalIndent(rj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Save writes the record atomically, unless the file already holds
// exactly this content. changed reports whether it wrote.
func (r *Record) Save(stateDir string) (changed bool, err error) {
	data, err := r.Marshal()
	if err != nil {
		return false, err
	}
	file := RecordFile(stateDir)
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	// The record lives in the state directory, which is private like the
	// snapshot store (store.DirMode, store.FileMode).
	if err := os.MkdirAll(filepath.Dir(file), store.DirMode); err != nil {
		return false, fmt.Errorf("write the applied record: %w", err)
	}
	if err := atomicfile.Write(file, data, store.FileMode); err != nil {
		return false, fmt.Errorf("write the applied record: %w", err)
	}
	return true, nil
}

// propsJSON renders properties as a JSON object of strings and lists of
// strings.
type propsJSON config.Properties

func (p propsJSON) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p))
	for _, q := range p {
		if q.List {
			vals := q.Values
			if vals == nil {
				vals = []string{}
			}
			m[q.Key] = vals
		} else {
			m[q.Key] = q.Value()
		}
	}
	return json.Marshal(m)
}

func (p *propsJSON) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	var ps config.Properties
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			ps = append(ps, config.Property{Key: k, Values: []string{s}})
			continue
		}
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("property %s: want a string or a list of strings", k)
		}
		if l == nil {
			l = []string{}
		}
		ps = append(ps, config.Property{Key: k, Values: l, List: true})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	*p = propsJSON(ps)
	return nil
}
