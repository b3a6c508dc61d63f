package postgresql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// userRelations tells whether the current database holds a relation of its
// own: a table, partitioned table, view, materialised view, sequence or
// foreign table outside the system schemas that is not a member of an
// extension (an extension's own tables, such as PostGIS's
// spatial_ref_sys, are not the component's data).
const userRelations = `select exists (
  select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    and not exists (select 1 from pg_depend d
      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'))`

// Probe implements module.Prober: absent when no database has exactly the
// component's name, empty when it exists without a relation of its own (or
// was left half-initialised by an interrupted activation), has data
// otherwise. It waits for the server as activate does and changes nothing.
func (Module) Probe(ctx context.Context, req *module.Request) (module.State, error) {
	rep := req.Report
	if rep == nil {
		rep = ui.Discard
	}
	name := req.Component.Name
	s, err := loadSettings(req)
	if err != nil {
		return 0, err
	}
	ss, err := newSession(s)
	if err != nil {
		return 0, err
	}
	conn, err := ss.wait(ctx, rep, maintenanceDB(name))
	if err != nil {
		return 0, fmt.Errorf("probe %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	info, err := lookupDB(ctx, conn, name)
	switch {
	case err != nil:
		return 0, fmt.Errorf("probe %s: %w", name, err)
	case !info.Exists:
		return module.StateAbsent, nil
	case info.Comment == incomplete:
		return module.StateEmpty, nil
	}
	db, err := ss.connect(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("probe %s: connect to database %q: %w", name, name, err)
	}
	defer db.Close(context.Background())
	var has bool
	if err := db.QueryRow(ctx, userRelations).Scan(&has); err != nil {
		return 0, fmt.Errorf("probe %s: list the relations of database %q: %w", name, name, err)
	}
	if has {
		return module.StateHasData, nil
	}
	return module.StateEmpty, nil
}
