package influx

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/wait"
)

// restore replaces the database with a snapshot. InfluxDB cannot rename a
// database, so the snapshot cannot be loaded aside and swapped in: it is
// verified (checksum) and read completely (every record, its end marker)
// first, and only then is the database dropped and loaded again.
func restore(ctx context.Context, req *module.Request, s *settings) error {
	name := req.Component.Name
	sn, ok, err := req.RestoreTarget()
	if err != nil {
		return err
	}
	if !ok {
		req.Report.Infof("no snapshot of %s; nothing to restore", req.Key())
		return nil
	}
	payload, err := req.Store.Read(ctx, sn) // verifies the checksum
	if err != nil {
		return err
	}
	c := newClient(s)
	defer c.close()
	if payload.Has(DumpFile) {
		src := source{name: "snapshot " + sn.Rel(), snapshot: true, open: func() (io.ReadCloser, error) { return payload.Open(DumpFile) }}
		points, err := check(src, name)
		if err != nil {
			return fmt.Errorf("%w (the database was not changed)", err)
		}
		if err := c.waitReady(ctx, s.timeout, waitNotice(req, s)); err != nil {
			return err
		}
		if err := c.exec(ctx, "DROP DATABASE "+quoteIdent(name)); err != nil {
			return err
		}
		if err := load(ctx, c, src, name); err != nil {
			return fmt.Errorf("%w; the database is incomplete: restore again", err)
		}
		req.Report.Infof("restored database %q (%d points) from snapshot %s", name, points, sn.Rel())
		return nil
	}
	manifests := upstreamManifests(payload)
	if len(manifests) != 1 {
		return fmt.Errorf("snapshot %s is not an %s snapshot (it holds: %s)", sn.Rel(), Type, strings.Join(payload.Files(), ", "))
	}
	return restoreUpstream(ctx, req, s, c, sn, filepath.Join(payload.Dir, filepath.Dir(manifests[0])))
}

// upstreamManifests lists the manifests of an upstream snapshot: a
// portable backup in dump/.
func upstreamManifests(p *store.Payload) []string {
	var out []string
	for _, f := range p.Files() {
		if strings.HasPrefix(f, "dump/") && strings.HasSuffix(f, ".manifest") && !strings.Contains(f[len("dump/"):], "/") {
			out = append(out, f)
		}
	}
	return out
}

// restoreUpstream loads upstream's snapshot, a portable backup, with
// influxd restore -portable through the server's backup and restore
// service (influxdbPort).
func restoreUpstream(ctx context.Context, req *module.Request, s *settings, c *client, sn store.Snapshot, dir string) error {
	name := req.Component.Name
	bin, err := program.Find(s.env, "influxd")
	if err != nil {
		return fmt.Errorf("restore upstream's snapshot %s: %w", sn.Rel(), err)
	}
	if err := c.waitReady(ctx, s.timeout, waitNotice(req, s)); err != nil {
		return err
	}
	if err := c.exec(ctx, "DROP DATABASE "+quoteIdent(name)); err != nil {
		return err
	}
	cmd := program.Command(ctx, s.env, nil, bin, "restore", "-portable", "-host", s.rpcAddr(), "-db", name, dir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restore upstream's snapshot %s: %w; the database is incomplete: restore again", sn.Rel(), err)
	}
	// The server enables the restored shards a moment later; until then
	// queries fail with "shard is disabled".
	probe := func(ctx context.Context) error {
		_, err := c.query(ctx, name, "SELECT * FROM /.*/ LIMIT 1")
		return err
	}
	if err := wait.Until(ctx, s.timeout, probe, nil); err != nil {
		return fmt.Errorf("restored upstream's snapshot %s, but the database does not answer: %w", sn.Rel(), err)
	}
	req.Report.Infof("restored database %q from upstream's snapshot %s", name, sn.Rel())
	return nil
}
