package store

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// Kind classifies what Check found.
type Kind string

// Problems: the store is damaged; check fails.
const (
	KindMismatch   Kind = "checksum-mismatch"   // a snapshot does not match its checksum
	KindUnreadable Kind = "unreadable"          // a snapshot cannot be read
	KindDangling   Kind = "dangling-generation" // a generation points to a snapshot that is missing
	KindBadLink    Kind = "bad-generation"      // a numbered generation entry is not a link to a snapshot of its component
)

// Warnings and notes: worth knowing, not damage.
const (
	KindNoChecksum  Kind = "no-checksum"     // nothing to verify a snapshot against (upstream treats this as a warning)
	KindOrphan      Kind = "orphan-snapshot" // a snapshot no generation points to; gc removes it
	KindStray       Kind = "stray"           // a leftover of an interrupted write; repair and gc remove it
	KindPermissions Kind = "permissions"     // other users can read or list an entry; repair makes it private
)

// Finding is one thing Check found.
type Finding struct {
	Kind       Kind   `json:"kind"`
	Snapshot   string `json:"snapshot,omitempty"`   // <c>/<comp>/<id>, when it concerns a snapshot
	Generation int    `json:"generation,omitempty"` // when it concerns a generation
	Path       string `json:"path"`                 // relative to the state directory
	Message    string `json:"message"`
	Have       string `json:"have,omitempty"` // for mismatches: the computed checksum
	Want       string `json:"want,omitempty"` // for mismatches: the stored checksum
}

// Problem reports whether the finding is damage (check fails on it).
func (f Finding) Problem() bool {
	switch f.Kind {
	case KindMismatch, KindUnreadable, KindDangling, KindBadLink:
		return true
	}
	return false
}

// Repairable reports whether Repair removes what the finding names.
func (f Finding) Repairable() bool {
	return f.Kind == KindStray || f.Kind == KindDangling || f.Kind == KindPermissions
}

// CheckReport is the outcome of Check.
type CheckReport struct {
	Components int       `json:"components"` // components looked at
	Checked    int       `json:"checked"`    // snapshots verified
	Findings   []Finding `json:"findings"`   // in store order
}

// Problems returns the findings that are damage.
func (r *CheckReport) Problems() []Finding { return r.filter(Finding.Problem) }

// Repairable returns the findings Repair would fix.
func (r *CheckReport) Repairable() []Finding { return r.filter(Finding.Repairable) }

func (r *CheckReport) filter(keep func(Finding) bool) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Err returns an *IntegrityError listing every problem, or nil.
func (r *CheckReport) Err() error {
	probs := r.Problems()
	if len(probs) == 0 {
		return nil
	}
	e := &IntegrityError{}
	for _, f := range probs {
		e.Problems = append(e.Problems, f.Message)
	}
	return e
}

// Check verifies every snapshot of the selected components against its
// checksum, and every generation against the snapshot it points to. It
// reports everything it finds — it does not stop at the first problem — and
// also notes leftovers of interrupted writes and snapshots gc would remove.
// It reads without taking the lock; each verified snapshot is passed to
// verified (which may be nil) as it is done.
func (s *Store) Check(ctx context.Context, sel Selection, verified func(Verdict)) (*CheckReport, error) {
	return s.scan(ctx, sel, true, verified)
}

// scan is Check; with verify false it does not read snapshot contents.
func (s *Store) scan(ctx context.Context, sel Selection, verify bool, verified func(Verdict)) (*CheckReport, error) {
	r := &CheckReport{Findings: []Finding{}}
	keys, err := s.Keys(sel)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.Components++
		if err := s.checkKey(k, r, verify, verified); err != nil {
			return nil, fmt.Errorf("check %s: %w", k, err)
		}
	}
	stale, err := s.StaleTemp()
	if err != nil {
		return nil, err
	}
	for _, dir := range stale {
		rel := s.rel(dir)
		r.Findings = append(r.Findings, Finding{Kind: KindStray, Path: rel,
			Message: fmt.Sprintf("%s is the work directory of an interrupted write (its process is gone)", rel)})
	}
	if err := s.checkPermissions(ctx, sel, keys, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) checkKey(k Key, r *CheckReport, verify bool, verified func(Verdict)) error {
	gp := s.path("generations", k.Container, k.Component)
	sp := s.path("snapshots", k.Container, k.Component)
	referenced := map[string]bool{}

	names, err := readDirNames(gp)
	if err != nil {
		return err
	}
	sortGenerationNames(names)
	for _, name := range names {
		p := filepath.Join(gp, name)
		rel := s.rel(p)
		if strings.HasPrefix(name, atomicfile.TempPrefix) {
			r.Findings = append(r.Findings, Finding{Kind: KindStray, Path: rel, Message: fmt.Sprintf("%s is a half-made generation link", rel)})
			continue
		}
		n, ok := parseGeneration(name)
		if !ok {
			continue
		}
		target, err := os.Readlink(p)
		if err != nil {
			if _, lerr := os.Lstat(p); os.IsNotExist(lerr) {
				continue // removed meanwhile by gc
			}
			r.Findings = append(r.Findings, Finding{Kind: KindBadLink, Generation: n, Path: rel,
				Message: fmt.Sprintf("generation %d of %s is not a symlink", n, k)})
			continue
		}
		id, ok := parseGenerationTarget(k, target)
		if !ok {
			r.Findings = append(r.Findings, Finding{Kind: KindBadLink, Generation: n, Path: rel,
				Message: fmt.Sprintf("generation %d of %s points to %q, not to a snapshot of %s", n, k, target, k)})
			continue
		}
		referenced[id] = true
		sn := Snapshot{Key: k, ID: id}
		if ok, err := exists(s.SnapshotDir(sn)); err != nil {
			return err
		} else if !ok {
			if _, lerr := os.Lstat(p); os.IsNotExist(lerr) {
				continue
			}
			r.Findings = append(r.Findings, Finding{Kind: KindDangling, Snapshot: sn.Rel(), Generation: n, Path: rel,
				Message: fmt.Sprintf("generation %d of %s points to snapshot %s, which is missing", n, k, sn.Rel())})
		}
	}

	ids, err := readDirNames(sp)
	if err != nil {
		return err
	}
	for _, id := range ids {
		sn := Snapshot{Key: k, ID: id}
		if !verify {
			if !referenced[id] {
				r.Findings = append(r.Findings, Finding{Kind: KindOrphan, Snapshot: sn.Rel(), Path: s.rel(s.SnapshotDir(sn)),
					Message: fmt.Sprintf("snapshot %s belongs to no generation; gc removes it", sn.Rel())})
			}
			continue
		}
		v := s.verify(sn)
		if v.Missing {
			continue // removed meanwhile by gc
		}
		r.Checked++
		if verified != nil {
			verified(v)
		}
		rel := s.rel(s.SnapshotDir(sn))
		switch {
		case v.Err != nil:
			if ok, _ := exists(s.SnapshotDir(sn)); !ok {
				r.Checked--
				continue
			}
			r.Findings = append(r.Findings, Finding{Kind: KindUnreadable, Snapshot: sn.Rel(), Path: rel, Message: v.String()})
		case v.NoChecksum:
			r.Findings = append(r.Findings, Finding{Kind: KindNoChecksum, Snapshot: sn.Rel(), Path: rel, Message: v.String()})
		case v.Have != v.Want:
			r.Findings = append(r.Findings, Finding{Kind: KindMismatch, Snapshot: sn.Rel(), Path: rel, Message: v.String(), Have: v.Have, Want: v.Want})
		}
		if !referenced[id] {
			r.Findings = append(r.Findings, Finding{Kind: KindOrphan, Snapshot: sn.Rel(), Path: rel,
				Message: fmt.Sprintf("snapshot %s belongs to no generation; gc removes it", sn.Rel())})
		}
	}

	for _, kind := range []string{"checksums", "metadata"} {
		dir := s.path(kind, k.Container, k.Component)
		names, err := readDirNames(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			p := filepath.Join(dir, name)
			rel := s.rel(p)
			if strings.HasPrefix(name, atomicfile.TempPrefix) {
				r.Findings = append(r.Findings, Finding{Kind: KindStray, Path: rel, Message: fmt.Sprintf("%s is a half-written record", rel)})
				continue
			}
			id := name
			if kind == "metadata" {
				id = strings.TrimSuffix(name, ".json")
			}
			if referenced[id] {
				continue
			}
			if ok, err := exists(filepath.Join(sp, id)); err != nil {
				return err
			} else if !ok {
				r.Findings = append(r.Findings, Finding{Kind: KindStray, Path: rel,
					Message: fmt.Sprintf("%s belongs to no snapshot", rel)})
			}
		}
	}
	return nil
}

// sortGenerationNames orders numbered names numerically, the others after
// them byte-wise.
func sortGenerationNames(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, aok := parseGeneration(names[i])
		b, bok := parseGeneration(names[j])
		switch {
		case aok && bok:
			return a < b
		case aok != bok:
			return aok
		}
		return names[i] < names[j]
	})
}

// RepairResult lists what Repair removed, as paths relative to the state
// directory.
type RepairResult struct {
	Removed   []string `json:"removed"`
	Tightened int      `json:"tightened,omitempty"` // how many entries were made private (0700/0600)
}

// Repair removes, under the store lock, what Check reports as repairable in
// the selection: leftovers of interrupted writes (work directories of dead
// processes, half-written links and records, records of snapshots that are
// gone) and generation links that point to a missing snapshot; and it makes
// entries that other users could read private again (0700/0600). It never
// touches a snapshot: a damaged snapshot can only be replaced by a good copy
// (import one, or commit the same state again).
func (s *Store) Repair(ctx context.Context, sel Selection) (*RepairResult, error) {
	unlock, err := s.Lock(ctx, "repair")
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	defer unlock()
	res := &RepairResult{Removed: []string{}}
	// Removing a dangling link can leave its snapshot's records without an
	// owner, so look again until nothing is left to do.
	for round := 0; round < 3; round++ {
		report, err := s.scan(ctx, sel, false, nil)
		if err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		todo := report.Repairable()
		if len(todo) == 0 {
			break
		}
		dirs := map[string]bool{}
		for _, f := range todo {
			p := s.path(filepath.FromSlash(f.Path))
			switch {
			case f.Kind == KindPermissions:
				// The whole state directory for an empty selection; with
				// a selection, "." is the state directory alone.
				n, err := tightenTree(p, f.Path != "." || sel == (Selection{}))
				if err != nil {
					return res, fmt.Errorf("repair: %w", err)
				}
				res.Tightened += n
				continue
			case f.Kind == KindStray && strings.HasPrefix(f.Path, "tmp/"):
				err = removeTemp(p)
			default:
				err = removeIfExists(p)
			}
			if err != nil {
				return res, fmt.Errorf("repair: %w", err)
			}
			if f.Kind == KindDangling {
				s.Report.Infof("removed generation %d of %s: its snapshot %s is missing", f.Generation, path.Dir(f.Snapshot), f.Snapshot)
			}
			dirs[filepath.Dir(p)] = true
			res.Removed = append(res.Removed, f.Path)
		}
		for d := range dirs {
			if err := atomicfile.SyncDir(d); err != nil && !os.IsNotExist(err) {
				return res, fmt.Errorf("repair: %w", err)
			}
		}
	}
	return res, nil
}
