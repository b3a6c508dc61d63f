package mysql

import (
	"context"
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// Probe implements module.Prober: absent when no database has exactly the
// component's name, empty when it has no table or view, has data otherwise.
// It waits for the server as activate does and changes nothing.
func (Module) Probe(ctx context.Context, req *module.Request) (module.State, error) {
	if req.Report == nil {
		r := *req
		r.Report = ui.Discard
		req = &r
	}
	name := req.Component.Name
	if err := checkName(name); err != nil {
		return 0, err
	}
	s, err := settingsOf(req)
	if err != nil {
		return 0, fmt.Errorf("probe %s: %w", describe(req), err)
	}
	db, err := connect(ctx, s, req.Report, true)
	if err != nil {
		return 0, fmt.Errorf("probe %s: %w", describe(req), err)
	}
	defer db.Close()
	exists, err := databaseExists(ctx, db, name)
	if err != nil {
		return 0, fmt.Errorf("probe %s: %w", describe(req), err)
	}
	if !exists {
		return module.StateAbsent, nil
	}
	// information_schema compares names case-insensitively; compare here.
	rows, err := queryStrings(ctx, db, "SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name)
	if err != nil {
		return 0, fmt.Errorf("probe %s: list its tables: %w", describe(req), err)
	}
	for _, r := range rows {
		if len(r) == 1 && r[0] == name {
			return module.StateHasData, nil
		}
	}
	return module.StateEmpty, nil
}
