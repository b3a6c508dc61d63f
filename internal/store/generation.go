package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"

	"github.com/dysnomia-go/dysnomia/internal/atomicfile"
)

// Generation is one numbered entry of generations/<c>/<comp>.
type Generation struct {
	N        int
	Snapshot Snapshot
}

// Generations lists a component's generations in numeric order. Entries that
// are not numbered symlinks to a snapshot of this component are ignored (check
// reports them); a missing directory is no generations.
func (s *Store) Generations(k Key) ([]Generation, error) {
	dir := s.path("generations", k.Container, k.Component)
	nums, err := generationNumbers(dir)
	if err != nil {
		return nil, err
	}
	gens := make([]Generation, 0, len(nums))
	for _, n := range nums {
		if id, ok := s.generationTarget(k, dir, n); ok {
			gens = append(gens, Generation{N: n, Snapshot: Snapshot{Key: k, ID: id}})
		}
	}
	return gens, nil
}

// Latest returns the snapshot of the highest generation, and false when the
// component has none. It reads one link however many generations there are.
func (s *Store) Latest(k Key) (Snapshot, bool, error) {
	g, ok, err := s.LatestGeneration(k)
	return g.Snapshot, ok, err
}

// LatestGeneration returns the highest generation, and false when the
// component has none.
func (s *Store) LatestGeneration(k Key) (Generation, bool, error) {
	dir := s.path("generations", k.Container, k.Component)
	nums, err := generationNumbers(dir)
	if err != nil {
		return Generation{}, false, err
	}
	for i := len(nums) - 1; i >= 0; i-- {
		if id, ok := s.generationTarget(k, dir, nums[i]); ok {
			return Generation{N: nums[i], Snapshot: Snapshot{Key: k, ID: id}}, true, nil
		}
	}
	return Generation{}, false, nil
}

// generationNumbers lists the numbered entries of a generations directory in
// numeric order, without sorting the names first.
func generationNumbers(dir string) ([]int, error) {
	f, err := os.Open(dir)
	if err != nil {
		if os.IsNotExist(err) || isNotDir(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		if isNotDir(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	nums := make([]int, 0, len(names))
	for _, name := range names {
		if n, ok := parseGeneration(name); ok {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	return nums, nil
}

// parseGeneration accepts canonical positive decimal numbers only ("7", not
// "07" or "+7").
func parseGeneration(name string) (int, bool) {
	if name == "" || name[0] < '1' || name[0] > '9' || len(name) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
		n = n*10 + int(name[i]-'0')
	}
	return n, true
}

// generationTarget reads generation n of k and returns the snapshot id it
// points to, if it is a symlink of the expected shape.
func (s *Store) generationTarget(k Key, dir string, n int) (string, bool) {
	target, err := os.Readlink(filepath.Join(dir, strconv.Itoa(n)))
	if err != nil {
		return "", false
	}
	id, ok := parseGenerationTarget(k, target)
	return id, ok
}

// generationLink is the target of a generation symlink to sn, relative to
// the generations directory, as upstream writes it.
func generationLink(sn Snapshot) string {
	return "../../../snapshots/" + sn.Container + "/" + sn.Component + "/" + sn.ID
}

// parseGenerationTarget accepts "../../../snapshots/<c>/<comp>/<id>" for
// this component, and returns the id.
func parseGenerationTarget(k Key, target string) (string, bool) {
	prefix := "../../../snapshots/" + k.Container + "/" + k.Component + "/"
	if len(target) <= len(prefix) || target[:len(prefix)] != prefix {
		return "", false
	}
	id := target[len(prefix):]
	if ValidSegment(id) != nil {
		return "", false
	}
	return id, true
}

// addGeneration links a new generation to sn unless the latest generation
// already points to it. The link is created under a temporary name and
// renamed into place, so a reader never sees a half-made generation. The
// caller holds the lock.
func (s *Store) addGeneration(sn Snapshot) (n int, added bool, err error) {
	last, ok, err := s.LatestGeneration(sn.Key)
	if err != nil {
		return 0, false, err
	}
	if ok && last.Snapshot.ID == sn.ID {
		return last.N, false, nil
	}
	dir := s.path("generations", sn.Container, sn.Component)
	if err := s.mkdirAll(dir); err != nil {
		return 0, false, err
	}
	// Number after the highest numbered entry of any kind, so a broken
	// entry is never overwritten.
	nums, err := generationNumbers(dir)
	if err != nil {
		return 0, false, err
	}
	n = 1
	if len(nums) > 0 {
		n = nums[len(nums)-1] + 1
	}
	tmp := filepath.Join(dir, fmt.Sprintf("%s%d-%d", atomicfile.TempPrefix, n, os.Getpid()))
	os.Remove(tmp)
	if err := os.Symlink(generationLink(sn), tmp); err != nil {
		return 0, false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(n))); err != nil {
		os.Remove(tmp)
		return 0, false, err
	}
	return n, true, atomicfile.SyncDir(dir)
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }
