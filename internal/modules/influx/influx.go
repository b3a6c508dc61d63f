// Package influx is the influx-database module: each component is one
// database on an InfluxDB 1.x server, named after the component, reached
// through the server's HTTP API.
//
// # Container properties
//
//	influxdbHost          host of the HTTP API (default localhost)
//	influxdbHttpPort      port of the HTTP API (default 8086)
//	influxdbPort          port of the backup and restore service (default
//	                      8088); used only to restore upstream's snapshots
//	influxdbUsername      the InfluxDB user, when influxdbPasswordFile is set
//	                      (default influxdb, upstream's documented default)
//	influxdbPasswordFile  a file holding that user's password (one line), for
//	                      a server with auth-enabled; sent as HTTP basic
//	                      authentication, never on a command line. Without it
//	                      no credentials are sent.
//	timeout               seconds to wait for the server to answer /ping
//	                      (default 10, at least 1); the whole wait, however
//	                      slowly the server answers, stays within it
//
// Upstream ran the influx and influxd programs as the OS user
// influxdbUsername. This module runs no program for its own snapshots: it
// talks HTTP, so no OS user is involved and root is not needed.
//
// # Component
//
// The regular files influx-databases/* are import files (the format of
// `influx -import`: a "# DDL" section of statements, a "# DML" section of
// line protocol with nanosecond timestamps and "# CONTEXT-DATABASE:" /
// "# CONTEXT-RETENTION-POLICY:" comments), run in byte order of their
// names. Their points must be for the component's database, and a CREATE
// DATABASE statement in them must name it.
//
// # Activities
//
//   - activate: waits for the server; unless a database of exactly the
//     component's name exists, reads every import file through (a malformed
//     one stops everything before the server is touched), runs them, and
//     creates the database if they did not. When one fails, the database is
//     dropped again; the error names the file and line. The component is
//     then marked active.
//   - deactivate: marks the component as garbage; the data stays.
//   - collect-garbage: drops the database of a component marked as garbage.
//   - snapshot: exports the database into the snapshot store as
//     dump.influx, an import file (`influx -import -precision ns` loads it
//     too, unless a string value holds a line break: that program reads
//     line by line): the CREATE statements of the database,
//     its retention policies and continuous queries, then every point of
//     every retention policy, measurement by measurement, series by series
//     in time order, with exact field types (integers as 1i), and an end
//     marker counting the points. The export depends only on the data (a
//     portable backup, upstream's format, embeds times and file layouts), so
//     an unchanged database gives the same snapshot id and no new
//     generation. The export reads while others may write: points written
//     meanwhile may or may not be in it. Users and privileges are server
//     settings, not part of a snapshot.
//   - restore: verifies the snapshot and reads it through to its end marker;
//     only then drops the database and loads the snapshot. InfluxDB cannot
//     rename a database, so the old data cannot be kept aside: a failure
//     during the load (the server stopping, a full disk) leaves the database
//     incomplete, and the restore is to be run again. Upstream's snapshots
//     (a portable backup in dump/) are restored with `influxd restore
//     -portable` through influxdbPort.
//   - lock, unlock: nothing to do.
//   - shell: the session gets INFLUX_HOST, INFLUX_PORT and INFLUX_DATABASE.
package influx

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Type is the module's container type.
const Type = "influx-database"

// Module implements module.Module and module.ShellEnviron.
type Module struct{}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	if req.Report == nil {
		r := *req
		r.Report = ui.Discard
		req = &r
	}
	var err error
	switch req.Activity {
	case module.Deactivate:
		err = req.Store.MarkGarbage(req.Key())
	case module.Shell:
		err = shellHelp(req)
	case module.Activate, module.Snapshot, module.Restore, module.CollectGarbage:
		var s *settings
		if s, err = settingsOf(req); err != nil {
			break
		}
		switch req.Activity {
		case module.Activate:
			err = activate(ctx, req, s)
		case module.Snapshot:
			err = snapshot(ctx, req, s)
		case module.Restore:
			err = restore(ctx, req, s)
		case module.CollectGarbage:
			err = collectGarbage(ctx, req, s)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Activity, describe(req), err)
	}
	return nil
}

// describe names the database and its container for error messages.
func describe(req *module.Request) string {
	return fmt.Sprintf("database %q on %s", req.Component.Name, req.Container.Name)
}
