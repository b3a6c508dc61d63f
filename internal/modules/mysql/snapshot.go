package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// DumpFile is the payload file of a snapshot: ours is stored as
// dump.sql.zst, upstream's as dump.sql.xz.
const DumpFile = "dump.sql"

// dumpArgs are the options of every dump. --single-transaction gives a
// consistent view of InnoDB tables without locking out writers; --quick
// streams rows instead of buffering tables; --skip-dump-date keeps the
// date out, so that the same data gives the same bytes.
var dumpArgs = []string{"--single-transaction", "--quick", "--skip-dump-date"}

// snapshot dumps the database into the snapshot store.
func snapshot(ctx context.Context, req *module.Request, s settings) error {
	name := req.Component.Name
	db, err := connect(ctx, s, req.Report, true)
	if err != nil {
		return err
	}
	exists, err := databaseExists(ctx, db, name)
	db.Close()
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("no such database on the server (activate the component first)")
	}
	c, err := newClient(req, s)
	if err != nil {
		return err
	}
	defer c.close()
	cmd, err := c.command(ctx, dumpTool, append(append([]string{}, dumpArgs...), "--", name)...)
	if err != nil {
		return err
	}
	res, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		// The fastest level: the dump tool and the server already keep
		// the cores busy (see bench/mysql).
		w, err := d.CreateFast(DumpFile)
		if err != nil {
			return err
		}
		derr := dump(cmd, w)
		return errors.Join(derr, w.Close())
	})
	if err != nil {
		return err
	}
	switch {
	case res.NewGeneration:
		req.Report.Infof("snapshot %s is generation %d", res.Rel(), res.Generation)
	default:
		req.Report.Infof("database unchanged since generation %d (snapshot %s)", res.Generation, res.Rel())
	}
	return nil
}

// dump runs the dump tool with its output streamed through the trailer
// filter into w.
func dump(cmd *exec.Cmd, w io.Writer) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return toolError(cmd, err, &stderr)
	}
	f := &trailerFilter{w: w}
	_, cerr := io.CopyBuffer(f, out, make([]byte, 1<<20))
	if cerr == nil {
		cerr = f.Close()
	}
	if cerr != nil {
		// Stop the tool: it would block writing to a pipe nobody reads.
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("write dump: %w", cerr)
	}
	return toolError(cmd, cmd.Wait(), &stderr)
}

// trailerFilter passes a dump through, except a last line starting with
// "-- Dump completed": with a date it would make every dump unique. It
// holds back the last line until Close.
type trailerFilter struct {
	w    io.Writer
	held []byte // the last (possibly incomplete) line
}

var trailer = []byte("-- Dump completed")

func (f *trailerFilter) Write(p []byte) (int, error) {
	f.held = append(f.held, p...)
	end := bytes.LastIndexByte(f.held, '\n') // end of the last complete line
	if end < 0 {
		return len(p), nil
	}
	start := bytes.LastIndexByte(f.held[:end], '\n') + 1 // its start
	if start > 0 {
		if _, err := f.w.Write(f.held[:start]); err != nil {
			return 0, err
		}
		f.held = append(f.held[:0], f.held[start:]...)
	}
	return len(p), nil
}

// Close writes what is held, except a last line that is the trailer.
func (f *trailerFilter) Close() error {
	held := f.held
	f.held = nil
	// The last line starts after the last newline that is not the
	// final byte.
	start := bytes.LastIndexByte(bytes.TrimSuffix(held, []byte{'\n'}), '\n') + 1
	if bytes.HasPrefix(held[start:], trailer) {
		held = held[:start]
	}
	_, err := f.w.Write(held)
	return err
}
