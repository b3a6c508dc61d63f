package transfer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// TestMain lets the test binary act as a writer process that the kill test
// interrupts: with TRANSFER_TEST_CHILD set it runs that role and exits.
func TestMain(m *testing.M) {
	if role := os.Getenv("TRANSFER_TEST_CHILD"); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// runChild performs one store operation on STORE_DIR. It prints "go" on
// stdout right before the operation starts, so the parent can aim its kill
// at the operation rather than at process start-up.
func runChild(role string) int {
	s := store.Open(os.Getenv("STORE_DIR"))
	s.LockTimeout = time.Minute
	ctx := context.Background()
	seed, _ := strconv.Atoi(os.Getenv("CHILD_SEED"))
	var err error
	switch role {
	case "commit":
		text := dumpText(seed, 2<<20)
		fmt.Println("go")
		_, err = s.Commit(ctx, pg, store.Meta{Module: "test"}, func(d *store.Dump) error {
			w, err := d.Create("dump.sql")
			if err != nil {
				return err
			}
			if _, err := w.Write(text); err != nil {
				return err
			}
			return w.Close()
		})
	case "import":
		var f *os.File
		if f, err = os.Open(os.Getenv("STREAM_FILE")); err == nil {
			fmt.Println("go")
			_, err = Import(ctx, s, bufio.NewReader(f))
		}
	case "gc":
		keep, _ := strconv.Atoi(os.Getenv("GC_KEEP"))
		fmt.Println("go")
		_, err = s.GC(ctx, store.Selection{}, keep)
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// dumpText is n bytes of dump-like text, different for each seed.
func dumpText(seed, n int) []byte {
	r := rand.New(rand.NewSource(int64(seed)))
	var b bytes.Buffer
	fmt.Fprintf(&b, "-- dump %d\n", seed)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d\tcustomer-%d\t%d.%02d\t2024-%02d-%02d\n", i, r.Intn(5000), r.Intn(1000), r.Intn(100), 1+r.Intn(12), 1+r.Intn(28))
	}
	return b.Bytes()[:n]
}

// R1: SIGKILL a committing, importing or gc-ing process at random points;
// afterwards no partial snapshot is visible, check finds no problem, and
// the generations that existed before are intact (for gc: the ones it had
// to keep).
func TestKillAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("kills many child processes")
	}
	const killsPerOp = 20
	s := newStore(t)
	rngSeed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(rngSeed))
	t.Logf("random seed %d", rngSeed)

	// Streams to import: each carries two new snapshots of its own
	// component (a generation history of two), made in a sender store.
	sender := newStore(t)
	var streams []string
	for i := 0; i < 2*killsPerOp; i++ {
		k := store.Key{Container: "imported", Component: "c" + strconv.Itoa(i%4)}
		a := commitText(t, sender, k, string(dumpText(1000+2*i, 1<<20)))
		b := commitText(t, sender, k, string(dumpText(1001+2*i, 1<<20)))
		file := filepath.Join(t.TempDir(), "stream")
		f, _ := os.Create(file)
		if _, err := Export(context.Background(), sender, f, store.Selection{}, []store.Snapshot{a.Snapshot, b.Snapshot}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		streams = append(streams, file)
	}

	seed := 0
	for _, op := range []string{"commit", "import", "gc"} {
		var window time.Duration // how long the operation takes when left alone
		kills, rounds := 0, 0
		for kills < killsPerOp {
			rounds++
			if rounds > 10*killsPerOp {
				t.Fatalf("%s: only %d kills landed in %d rounds", op, kills, rounds)
			}
			seed++
			env := []string{"STORE_DIR=" + s.Dir(), "CHILD_SEED=" + strconv.Itoa(seed)}
			keep := 0
			switch op {
			case "import":
				env = append(env, "STREAM_FILE="+streams[rounds%len(streams)])
			case "gc":
				// Give gc something to do.
				for i := 0; i < 8; i++ {
					seed++
					commitText(t, s, store.Key{Container: "gc", Component: "c" + strconv.Itoa(i%4)}, string(dumpText(seed, 16<<10)))
				}
				keep = rng.Intn(3)
				env = append(env, "GC_KEEP="+strconv.Itoa(keep))
			}
			before := generations(t, s)

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), "TRANSFER_TEST_CHILD="+op), env...)
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
				t.Fatalf("%s child: %v\n%s", op, err, stderr.String())
			}
			started := time.Now()
			if window > 0 {
				time.Sleep(time.Duration(rng.Int63n(int64(window))))
				cmd.Process.Signal(syscall.SIGKILL)
			}
			io.Copy(io.Discard, stdout)
			err := cmd.Wait()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			switch {
			case ws.Signaled():
				kills++
			case err != nil:
				t.Fatalf("%s child failed: %v\n%s", op, err, stderr.String())
			default:
				// Not killed in time: aim within the latest full run.
				window = time.Since(started)
			}

			assertConsistent(t, s, fmt.Sprintf("%s round %d", op, rounds))
			after := generations(t, s)
			for k, gens := range before {
				kept := gens
				if op == "gc" && len(gens) > keep {
					kept = gens[len(gens)-keep:]
				}
				for _, g := range kept {
					if after[k] == nil || !containsGen(after[k], g) {
						t.Fatalf("%s round %d: generation %d of %s (%s) lost", op, rounds, g.N, k, g.Snapshot.ID)
					}
				}
			}
		}
		t.Logf("%s: %d kills in %d rounds (operation takes about %v)", op, kills, rounds, window)
	}

	// gc clears what the killed processes left behind.
	if _, err := s.GC(context.Background(), store.Selection{}, 100); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(entries) != 0 {
		t.Errorf("work directories left after gc: %v", entries)
	}
	r, err := s.Check(context.Background(), store.Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		t.Errorf("after the final gc: %s", f.Message)
	}
}

// assertConsistent checks that every visible snapshot is whole (it has its
// checksum and matches it) and that check reports no problem.
func assertConsistent(t *testing.T, s *store.Store, when string) {
	t.Helper()
	r, err := s.Check(context.Background(), store.Selection{}, nil)
	if err != nil {
		t.Fatalf("%s: check: %v", when, err)
	}
	for _, f := range r.Problems() {
		t.Errorf("%s: %s", when, f.Message)
	}
	keys, _ := s.Keys(store.Selection{})
	for _, k := range keys {
		ids, _ := os.ReadDir(filepath.Join(s.Dir(), "snapshots", k.Container, k.Component))
		for _, e := range ids {
			sn := store.Snapshot{Key: k, ID: e.Name()}
			if _, ok, _ := s.Checksum(sn); !ok {
				t.Errorf("%s: snapshot %s is visible without its checksum", when, sn.Rel())
			}
			if v := s.Inspect(sn); !v.OK() {
				t.Errorf("%s: %s", when, v)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func generations(t *testing.T, s *store.Store) map[store.Key][]store.Generation {
	t.Helper()
	out := map[store.Key][]store.Generation{}
	keys, err := s.Keys(store.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		gens, err := s.Generations(k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = gens
	}
	return out
}

func containsGen(gens []store.Generation, g store.Generation) bool {
	for _, h := range gens {
		if h == g {
			return true
		}
	}
	return false
}
