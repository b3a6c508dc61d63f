package influx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// DumpFile is the payload file of our snapshots (stored as dump.influx.zst).
const DumpFile = "dump.influx"

// dumpHeader is the first line of a snapshot.
const dumpHeader = "# influx-database snapshot (dysnomia); load it with: influx -import -path FILE -precision ns"

// snapshot exports the database into the snapshot store.
func snapshot(ctx context.Context, req *module.Request, s *settings) error {
	c := newClient(s)
	defer c.close()
	if err := c.waitReady(ctx, s.timeout, waitNotice(req, s)); err != nil {
		return err
	}
	name := req.Component.Name
	ok, err := c.hasDatabase(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no such database on the server (activate the component first)")
	}
	var points int64
	res, err := req.Store.Commit(ctx, req.Key(), store.Meta{Module: Type}, func(d *store.Dump) error {
		w, err := d.Create(DumpFile)
		if err != nil {
			return err
		}
		points, err = export(ctx, c, name, w)
		return errors.Join(err, w.Close())
	})
	if err != nil {
		return err
	}
	if res.NewGeneration {
		req.Report.Infof("snapshot %s (%d points) is generation %d", res.Rel(), points, res.Generation)
	} else {
		req.Report.Infof("database unchanged since generation %d (snapshot %s)", res.Generation, res.Rel())
	}
	return nil
}

// export writes db in the import format: its retention policies and
// continuous queries, then every point, retention policy by retention
// policy, measurement by measurement, series by series, in time order, and
// the end marker. The same data gives the same bytes.
func export(ctx context.Context, c *client, db string, out io.Writer) (int64, error) {
	rps, err := c.retentionPolicies(ctx, db)
	if err != nil {
		return 0, err
	}
	cqs, err := c.continuousQueries(ctx, db)
	if err != nil {
		return 0, err
	}
	stmts, err := ddl(db, rps, cqs)
	if err != nil {
		return 0, err
	}
	ms, err := c.measurements(ctx, db)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintf(w, "%s\n%s\n", dumpHeader, ddlHeader)
	for _, st := range stmts {
		fmt.Fprintf(w, "%s\n", st)
	}
	fmt.Fprintf(w, "%s\n%s %s\n", dmlHeader, ctxDB, db)
	var points int64
	var line []byte
	for _, rp := range rps {
		fmt.Fprintf(w, "%s %s\n", ctxRP, rp.name)
		for _, m := range ms {
			types, err := c.fieldTypes(ctx, db, rp.name, m)
			if err != nil {
				return points, err
			}
			if len(types) == 0 {
				continue // no data of m in rp
			}
			q := "SELECT * FROM " + quoteIdent(rp.name) + "." + quoteIdent(m) + " GROUP BY *"
			err = c.queryEach(ctx, db, q, true, func(s series) error {
				for _, row := range s.Values {
					var ok bool
					if line, ok, err = appendPoint(line[:0], m, &s, row, types); err != nil {
						return err
					}
					if ok {
						points++
						if _, err := w.Write(line); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return points, err
			}
		}
	}
	fmt.Fprintf(w, "%s %s%s\n", endMarker, strconv.FormatInt(points, 10), endSuffix)
	return points, w.Flush()
}
