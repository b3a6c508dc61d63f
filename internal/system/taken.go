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
	"time"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TakenFile is where pre-switch records the snapshots it took for the
// changes a switch is about to make, next to the applied record.
func TakenFile(stateDir string) string { return filepath.Join(Dir(stateDir), "pre-switch.json") }

// The changes a Taken snapshot protects.
const (
	// ChangeServer: the container's server package changes; the new
	// server may start on a new, empty data directory.
	ChangeServer = "serverPackage"
	// ChangeRemoved: the component is no longer declared; its server may
	// be stopped before the switch can snapshot it.
	ChangeRemoved = "removed"
)

// Taken is one snapshot pre-switch took of a component for one change: the
// snapshot a switch restores after a server upgrade (ChangeServer), or the
// one that stands for the last state of a removed component whose server
// is gone (ChangeRemoved). It is found by component, change and server
// packages, so that a record left by a pre-switch whose switch never ran is
// not taken for another change.
type Taken struct {
	store.Key
	Snapshot  string    // the snapshot id
	Change    string    // ChangeServer or ChangeRemoved
	OldServer string    // serverPackage as applied (running); may be "" for a removal
	NewServer string    // serverPackage declared by the candidate; "" for a removal
	Time      time.Time // when pre-switch took it
}

// Rel names the snapshot as the command-line tools print it.
func (t Taken) Rel() string { return store.Snapshot{Key: t.Key, ID: t.Snapshot}.Rel() }

// Servers describes the server change: "postgresql-15.18 -> postgresql-16.9"
// (store paths by their names).
func (t Taken) Servers() string { return serverChange(t.OldServer, t.NewServer) }

func serverChange(from, to string) string {
	name := func(p string) string {
		if p == "" {
			return "(none)"
		}
		return config.NameOf(p)
	}
	return name(from) + " -> " + name(to)
}

// TakenRecord is the content of TakenFile: at most one Taken per component.
type TakenRecord struct {
	Taken []Taken // sorted by key
}

const takenVersion = 1

type takenJSON struct {
	Version   int              `json:"version"`
	Snapshots []takenComponent `json:"snapshots"`
}

type takenComponent struct {
	Container string    `json:"container"`
	Component string    `json:"component"`
	Snapshot  string    `json:"snapshot"`
	Change    string    `json:"change"`
	OldServer string    `json:"oldServerPackage,omitempty"`
	NewServer string    `json:"newServerPackage,omitempty"`
	Time      time.Time `json:"time"`
}

// LoadTaken reads the pre-switch record of stateDir; none is an empty one.
func LoadTaken(stateDir string) (*TakenRecord, error) {
	file := TakenFile(stateDir)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &TakenRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pre-switch record: %w", err)
	}
	rec, err := parseTaken(data)
	if err != nil {
		return nil, fmt.Errorf("pre-switch record %s: %w; if it cannot be repaired, remove it: a switch then finds no pre-upgrade snapshot and says so, and the snapshots stay in the store", file, err)
	}
	return rec, nil
}

func parseTaken(data []byte) (*TakenRecord, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var tj takenJSON
	if err := dec.Decode(&tj); err != nil {
		return nil, err
	}
	if tj.Version != takenVersion {
		return nil, fmt.Errorf("version %d, want %d", tj.Version, takenVersion)
	}
	rec := &TakenRecord{}
	for _, c := range tj.Snapshots {
		t := Taken{Key: store.Key{Container: c.Container, Component: c.Component}, Snapshot: c.Snapshot,
			Change: c.Change, OldServer: c.OldServer, NewServer: c.NewServer, Time: c.Time}
		if err := t.Key.Validate(); err != nil {
			return nil, err
		}
		if err := store.ValidSegment(t.Snapshot); err != nil {
			return nil, fmt.Errorf("component %s: snapshot id: %w", t.Key, err)
		}
		if t.Change != ChangeServer && t.Change != ChangeRemoved {
			return nil, fmt.Errorf("component %s: change %q, want %q or %q", t.Key, t.Change, ChangeServer, ChangeRemoved)
		}
		rec.put(t)
	}
	return rec, nil
}

// Save writes the record atomically (unless the file holds exactly this
// already), or removes the file when the record is empty.
func (r *TakenRecord) Save(stateDir string) error {
	file := TakenFile(stateDir)
	if len(r.Taken) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the pre-switch record: %w", err)
		}
		return nil
	}
	tj := takenJSON{Version: takenVersion}
	for _, t := range r.Taken {
		tj.Snapshots = append(tj.Snapshots, takenComponent{Container: t.Container, Component: t.Component, Snapshot: t.Snapshot,
			Change: t.Change, OldServer: t.OldServer, NewServer: t.NewServer, Time: t.Time.UTC()})
	}
	data, err := json.MarshalIndent(tj, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("write the pre-switch record: %w", err)
	}
	if err := atomicfile.Write(file, data, 0o644); err != nil {
		return fmt.Errorf("write the pre-switch record: %w", err)
	}
	return nil
}

// put adds t, replacing what the record held for its component.
func (r *TakenRecord) put(t Taken) {
	r.remove(t.Key)
	r.Taken = append(r.Taken, t)
	sort.Slice(r.Taken, func(i, j int) bool { return less(r.Taken[i].Key, r.Taken[j].Key) })
}

// remove drops what the record holds for k.
func (r *TakenRecord) remove(k store.Key) {
	out := r.Taken[:0]
	for _, t := range r.Taken {
		if t.Key != k {
			out = append(out, t)
		}
	}
	r.Taken = out
}

// get returns the record's snapshot of k, whatever its change.
func (r *TakenRecord) get(k store.Key) (Taken, bool) {
	for _, t := range r.Taken {
		if t.Key == k {
			return t, true
		}
	}
	return Taken{}, false
}

// Find returns the snapshot taken of k for exactly this change: a server
// change from oldServer to newServer, or (change ChangeRemoved, newServer
// "") the removal of k as it ran on oldServer.
func (r *TakenRecord) Find(k store.Key, change, oldServer, newServer string) (Taken, bool) {
	t, ok := r.get(k)
	if !ok || t.Change != change || t.OldServer != oldServer || t.NewServer != newServer {
		return Taken{}, false
	}
	return t, true
}

// changeOf is the change a switch from running (as applied) to declared
// makes that a pre-switch snapshot protects: ChangeRemoved when the
// component is no longer declared, ChangeServer when both declare a server
// package and they differ, "" otherwise.
func changeOf(running Entry, declared Entry, isDeclared bool) string {
	switch {
	case !isDeclared:
		return ChangeRemoved
	case running.Container.ServerPackage != "" && declared.Container.ServerPackage != "" &&
		running.Container.ServerPackage != declared.Container.ServerPackage:
		return ChangeServer
	}
	return ""
}

// prune keeps the snapshots of changes still pending against applied: the
// component is applied with the server package the snapshot was taken on.
// Once a change is applied (or the component left the record) its
// snapshot is no longer the one to restore.
func (r *TakenRecord) prune(applied []Entry) {
	now := byKey(applied)
	out := r.Taken[:0]
	for _, t := range r.Taken {
		if e, ok := now[t.Key]; ok && e.Container.ServerPackage == t.OldServer {
			out = append(out, t)
		}
	}
	r.Taken = out
}
