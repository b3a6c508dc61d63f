package fileset

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// archive builds a tar of files (name, content pairs) and returns it with
// the offset where each entry's data ends (after its padding).
func archive(t *testing.T, files ...string) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var ends []int
	for i := 0; i+1 < len(files); i += 2 {
		must(t, tw.WriteHeader(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}))
		_, err := tw.Write([]byte(files[i+1]))
		must(t, err)
		must(t, tw.Flush())
		ends = append(ends, buf.Len())
	}
	must(t, tw.Close())
	return buf.Bytes(), ends
}

func TestExtractRequiresEndOfArchive(t *testing.T) {
	full, ends := archive(t, "files/a", "one", "files/b", strings.Repeat("x", 512), "files/c", strings.Repeat("\x00", 1024))
	cases := []struct {
		name     string
		data     []byte
		complete bool
	}{
		{"whole", full, true},
		{"cut after the first entry", full[:ends[0]], false},
		{"cut after the second entry", full[:ends[1]], false},
		// The last file ends in 1024 zero bytes: zeros at the end prove
		// nothing unless they are the end marker itself.
		{"cut after the last entry", full[:ends[2]], false},
		{"cut after one zero block", full[:ends[2]+512], false},
		{"with the record padding tar adds", append(append([]byte{}, full...), make([]byte, 8192)...), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := extractTar(bytes.NewReader(tc.data), t.TempDir(), []string{"files"})
			var ie *store.IntegrityError
			switch {
			case tc.complete && err != nil:
				t.Errorf("complete archive: %v", err)
			case !tc.complete && !errors.As(err, &ie):
				t.Errorf("cut archive: err = %v, want an integrity error", err)
			}
		})
	}
}

// A snapshot whose checksum matches but whose archive was cut (upstream
// checksummed whatever tar wrote) is refused before anything changes, with
// an integrity error (exit status 65).
func TestRestoreRefusesCutArchive(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xz not installed")
		}
		t.Skip("xz not installed")
	}
	f := newFixture(t, "mkdir files\n")
	f.mustRun(t, module.Activate)
	must(t, os.WriteFile(filepath.Join(f.target, "files", "current"), []byte("live state"), 0o644))
	before := tree(t, f.target)

	full, ends := archive(t, "files/one", "1", "files/two", "2")
	cut := full[:ends[0]]
	cmd := exec.Command("xz", "-c")
	cmd.Stdin = bytes.NewReader(cut)
	xzData, err := cmd.Output()
	must(t, err)
	sum := sha256.Sum256(xzData)
	id := hex.EncodeToString(sum[:])
	snapDir := filepath.Join(f.st.Dir(), "snapshots", "fileset", "fileset", id)
	must(t, os.MkdirAll(snapDir, 0o755))
	must(t, os.WriteFile(filepath.Join(snapDir, "state.tar.xz"), xzData, 0o644))
	stream := sha256.Sum256(append([]byte(".\n./state.tar.xz\n\n"), xzData...))
	sumDir := filepath.Join(f.st.Dir(), "checksums", "fileset", "fileset")
	must(t, os.MkdirAll(sumDir, 0o755))
	must(t, os.WriteFile(filepath.Join(sumDir, id), []byte("sha256:"+hex.EncodeToString(stream[:])), 0o644))
	must(t, os.MkdirAll(filepath.Join(f.st.Dir(), "generations", "fileset", "fileset"), 0o755))
	must(t, os.Symlink("../../../snapshots/fileset/fileset/"+id, filepath.Join(f.st.Dir(), "generations", "fileset", "fileset", "1")))
	if err := f.st.Verify(store.Snapshot{Key: f.key(), ID: id}); err != nil {
		t.Fatalf("the cut snapshot must pass its checksum for this test: %v", err)
	}

	err = f.run(t, module.Restore)
	var ie *store.IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("restore of a cut archive: %v, want an integrity error", err)
	}
	if diff := cmp.Diff(before, tree(t, f.target)); diff != "" {
		t.Errorf("the restore changed the state (-before +after):\n%s", diff)
	}
	ents, _ := os.ReadDir(f.target)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".dysnomia-restore-") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}
