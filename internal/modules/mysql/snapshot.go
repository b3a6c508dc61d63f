package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/pipe"
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
	req.Report.Infof("%s", res.Summary())
	return nil
}

// dump runs the dump tool with its output streamed through the trailer
// filter into w.
func dump(cmd *exec.Cmd, w io.Writer) error {
	// A large pipe read in large steps: fewer wake-ups of the tool and of
	// this process (package pipe).
	r, pw, err := pipe.New()
	if err != nil {
		return err
	}
	defer r.Close()
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return toolError(cmd, err, &stderr)
	}
	f := &trailerFilter{w: w}
	_, cerr := io.CopyBuffer(f, pipe.NewReader(r), make([]byte, 1<<20))
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

// trailerFilter passes a dump through, with its last line, the dump tool's
// "-- Dump completed" trailer, normalised to exactly that: a date after it
// would make every dump unique (--skip-dump-date leaves it out, but not
// every dump tool honours it). The trailer stays, as the mark of a complete
// dump that restore looks for. That line is short, so only the last
// tailKeep bytes are held back until Close.
type trailerFilter struct {
	w       io.Writer
	held    []byte // the last bytes written, at most tailKeep
	flushed bool   // bytes before held were written
}

var trailer = []byte("-- Dump completed")

// tailKeep bounds the trailer line the filter recognises; upstream's and
// ours are about 40 bytes.
const tailKeep = 256

func (f *trailerFilter) Write(p []byte) (int, error) {
	n := len(p)
	if len(f.held)+len(p) <= tailKeep {
		f.held = append(f.held, p...)
		return n, nil
	}
	if len(p) >= tailKeep {
		if err := f.out(f.held); err != nil {
			return 0, err
		}
		if err := f.out(p[:len(p)-tailKeep]); err != nil {
			return 0, err
		}
		f.held = append(f.held[:0], p[len(p)-tailKeep:]...)
		return n, nil
	}
	k := len(f.held) + len(p) - tailKeep
	if err := f.out(f.held[:k]); err != nil {
		return 0, err
	}
	f.held = append(f.held[:copy(f.held, f.held[k:])], p...)
	return n, nil
}

func (f *trailerFilter) out(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	f.flushed = true
	_, err := f.w.Write(b)
	return err
}

// Close writes what is held, with a last line that is the trailer written
// as the bare trailer.
func (f *trailerFilter) Close() error {
	held := f.held
	f.held = nil
	// The last line starts after the last newline that is not the final
	// byte; if there is none in held, it starts before held (and is too
	// long to be the trailer) unless nothing was written before.
	i := bytes.LastIndexByte(bytes.TrimSuffix(held, []byte{'\n'}), '\n')
	if (i >= 0 || !f.flushed) && bytes.HasPrefix(held[i+1:], trailer) {
		held = append(held[:i+1], append(trailer, '\n')...)
	}
	return f.out(held)
}

// complete tells from the last line of a dump whether the dump tool
// finished it: our dumps end with the trailer; upstream's (and ours before
// the trailer was kept) lost it, and end with the statements that restore
// the session's settings, which the dump tool writes last.
func complete(lastLine string) bool {
	return strings.HasPrefix(lastLine, string(trailer)) || sessionRestore.MatchString(lastLine)
}

// sessionRestore matches the last statements of a dump, such as
// "/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;" (MariaDB also writes
// "/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;").
var sessionRestore = regexp.MustCompile(`^/\*M?!\d+ SET [A-Z_]+\s*=\s*@OLD_[A-Z_]+ \*/;$`)
