package transfer

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/store"
)

// An import of snapshots the store already holds, run at the same time as
// gc --keep 1 on the same store, must succeed every time: the snapshots
// import skips as present must not vanish before their generations are
// added. Afterwards the store checks clean.
func TestImportRacingGC(t *testing.T) {
	src := newStore(t)
	for i := range 3 {
		commitText(t, src, pg, fmt.Sprintf("state %d\n", i))
	}
	stream := exportAll(t, src)
	for round := range 40 {
		dst := newStore(t)
		if _, err := Import(context.Background(), dst, bytes.NewReader(stream)); err != nil {
			t.Fatalf("round %d: first import: %v", round, err)
		}
		var wg sync.WaitGroup
		var importErr, gcErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, importErr = Import(context.Background(), dst, bytes.NewReader(stream))
		}()
		go func() {
			defer wg.Done()
			<-start
			_, gcErr = dst.GC(context.Background(), store.Selection{}, 1)
		}()
		close(start)
		wg.Wait()
		if importErr != nil {
			t.Fatalf("round %d: import racing gc: %v", round, importErr)
		}
		if gcErr != nil {
			t.Fatalf("round %d: gc racing import: %v", round, gcErr)
		}
		r, err := dst.Check(context.Background(), store.Selection{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Problems() {
			t.Errorf("round %d: after the race: %s", round, p.Message)
		}
	}
}
