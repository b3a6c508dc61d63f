package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

func TestFramesRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, maxChunk - 1, maxChunk, maxChunk + 1, 3*maxChunk + 17} {
		data := make([]byte, size)
		rand.Read(data)
		var buf bytes.Buffer
		fw := newFrameWriter(&buf)
		// Odd write sizes cross chunk boundaries.
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 12345)
			if _, err := fw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if fw.n != int64(buf.Len()) {
			t.Errorf("size %d: writer counted %d bytes, wrote %d", size, fw.n, buf.Len())
		}
		buf.WriteString("next")
		fr := &frameReader{r: &buf}
		if err := fr.start(); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		got, err := io.ReadAll(fr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read %d bytes, err %v", size, len(got), err)
		}
		if rest := buf.String(); rest != "next" {
			t.Errorf("size %d: the reader took %q of what follows the stream", size, rest)
		}
	}
}

// TestFramesCut: an input cut anywhere inside a stream never reads as a
// complete stream.
func TestFramesCut(t *testing.T) {
	var buf bytes.Buffer
	fw := newFrameWriter(&buf)
	fw.Write(bytes.Repeat([]byte("x"), maxChunk+10))
	fw.Close()
	whole := buf.Bytes()
	for _, cut := range []int{1, 3, 4, 5, maxChunk, maxChunk + 4, maxChunk + 7, len(whole) - 4, len(whole) - 1} {
		fr := &frameReader{r: bytes.NewReader(whole[:cut])}
		if err := fr.start(); err != nil {
			continue
		}
		if _, err := io.ReadAll(fr); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d of %d: err %v, want io.ErrUnexpectedEOF", cut, len(whole), err)
		}
	}
	fr := &frameReader{r: bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})}
	if err := fr.start(); err == nil || !strings.Contains(err.Error(), "chunk of") {
		t.Errorf("an oversized chunk: %v", err)
	}
}

func randomText(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// session makes a source store with snapshots of two components and
// returns them in generation order, with a session of them.
func session(t *testing.T) (*store.Store, []store.Snapshot, []byte) {
	t.Helper()
	src := newStore(t)
	a := store.Key{Container: "postgresql-database", Component: "app"}
	b := store.Key{Container: "fileset", Component: "uploads"}
	var snaps []store.Snapshot
	for i := 0; i < 3; i++ {
		snaps = append(snaps, commitText(t, src, a, randomText(300<<10)))
	}
	snaps = append(snaps, commitText(t, src, b, "small"))
	hist, err := History(src, store.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	// History sorts components: fileset first.
	want := append([]store.Snapshot{snaps[3]}, snaps[:3]...)
	if d := cmp.Diff(rels(want), rels(hist)); d != "" {
		t.Fatalf("History (-want +got):\n%s", d)
	}
	var buf bytes.Buffer
	n, err := Send(context.Background(), src, &buf, hist, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("Send counted %d bytes, wrote %d", n, buf.Len())
	}
	return src, hist, buf.Bytes()
}

func TestSendReceive(t *testing.T) {
	src, hist, data := session(t)
	dst := newStore(t)
	var got []string
	var total int64
	err := Receive(context.Background(), dst, bytes.NewReader(data), func(n int64) ui.Counter { total = n; return ui.Discard.Progress("", 0) }, func(r Received) error {
		for _, in := range r.Snapshots {
			got = append(got, in.Status.String()+" "+in.Rel())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, sn := range hist {
		want = append(want, "imported "+sn.Rel())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("received (-want +got):\n%s", d)
	}
	if total <= 0 {
		t.Errorf("the session announced %d bytes", total)
	}
	for _, k := range []store.Key{hist[0].Key, hist[1].Key} {
		if d := cmp.Diff(generations(t, src, k), generations(t, dst, k)); d != "" {
			t.Errorf("generations of %s (-source +receiver):\n%s", k, d)
		}
	}
	checkStore(t, dst)
}

// TestReceiveCut cuts a session at many points: what was installed is
// always a whole beginning of the session, the store checks clean, and
// sending the rest (what print-missing would name) completes it.
func TestReceiveCut(t *testing.T) {
	src, hist, data := session(t)
	cuts := []int{0, 10, len(sessionMagic) + 8}
	for i := 1; i < 24; i++ {
		cuts = append(cuts, len(data)*i/24)
	}
	cuts = append(cuts, len(data)-4, len(data)-1)
	for _, cut := range cuts {
		dst := newStore(t)
		err := Receive(context.Background(), dst, bytes.NewReader(data[:cut]), nil, nil)
		// Cut inside the last end marker, after a complete archive: that
		// stream may count as received (it verified); then all is there.
		if err == nil && cut < len(data)-4 {
			t.Fatalf("cut at %d of %d: no error", cut, len(data))
		}
		var have, missing []store.Snapshot
		for _, sn := range hist {
			if _, err := os.Lstat(dst.SnapshotDir(sn)); err == nil {
				have = append(have, sn)
				continue
			}
			missing = append(missing, sn)
		}
		if err == nil && len(have) != len(hist) {
			t.Errorf("cut at %d: no error, but %d of %d snapshots installed", cut, len(have), len(hist))
		}
		if d := cmp.Diff(rels(hist[:len(have)]), rels(have)); d != "" {
			t.Errorf("cut at %d: installed is not a beginning of the session (-want +got):\n%s", cut, d)
		}
		checkStore(t, dst)
		afterCut := generations(t, dst, hist[1].Key)
		var rest bytes.Buffer
		if _, err := Send(context.Background(), src, &rest, missing, nil); err != nil {
			t.Fatal(err)
		}
		if err := Receive(context.Background(), dst, &rest, nil, nil); err != nil {
			t.Fatalf("cut at %d: resume: %v", cut, err)
		}
		for _, k := range []store.Key{hist[0].Key, hist[1].Key} {
			if d := cmp.Diff(generations(t, src, k), generations(t, dst, k)); d != "" {
				t.Errorf("cut at %d (%v; after the cut %v, missing %v): after resuming, generations of %s (-source +receiver):\n%s", cut, err, afterCut, rels(missing), k, d)
			}
		}
	}
}

func TestReceiveRefusesExtraStream(t *testing.T) {
	_, _, data := session(t)
	// Announce one stream fewer than the session carries.
	nl := bytes.IndexByte(data, '\n')
	f := strings.Fields(string(data[:nl]))
	bad := append([]byte(f[0]+" "+f[1]+" 3 "+f[3]), data[nl:]...)
	err := Receive(context.Background(), newStore(t), bytes.NewReader(bad), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "more than the 3") {
		t.Errorf("err %v", err)
	}
	if err := Receive(context.Background(), newStore(t), strings.NewReader("dysnomia-export 1\n"), nil, nil); err == nil || !strings.Contains(err.Error(), "not a snapshot session") {
		t.Errorf("a bare export stream: %v", err)
	}
}

// TestSendDamaged: the sender does not verify first, the receiver refuses
// a snapshot that does not match its checksum and installs none of it.
func TestSendDamaged(t *testing.T) {
	src, hist, _ := session(t)
	files, _ := filepath.Glob(filepath.Join(src.SnapshotDir(hist[1]), "*"))
	if len(files) == 0 {
		t.Fatal("no payload files")
	}
	f, err := os.OpenFile(files[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("damage"), 100)
	f.Close()
	var buf bytes.Buffer
	if _, err := Send(context.Background(), src, &buf, hist, nil); err != nil {
		t.Fatal(err)
	}
	dst := newStore(t)
	err = Receive(context.Background(), dst, &buf, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), hist[1].Rel()) {
		t.Fatalf("err %v, want a checksum mismatch of %s", err, hist[1].Rel())
	}
	for i, sn := range hist { // none after the damaged one either
		_, err := os.Lstat(dst.SnapshotDir(sn))
		if got := err == nil; got != (i == 0) {
			t.Errorf("%s installed: %v", sn.Rel(), got)
		}
	}
	checkStore(t, dst)
}
