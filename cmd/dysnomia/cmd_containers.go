package main

import (
	"fmt"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// ContainersCmd operates on every configured container and component: the
// modern form of upstream's dysnomia-containers (compat.go translates its
// options).
type ContainersCmd struct {
	List           ContainersListCmd      `cmd:"" help:"List the containers: the container files of DYSNOMIA_CONTAINERS_PATH."`
	Available      ContainersAvailableCmd `cmd:"" help:"List the available components: the <container>/<component> entries of DYSNOMIA_COMPONENTS_PATH."`
	Activated      ContainersActivatedCmd `cmd:"" help:"List the activated components recorded in the state directory."`
	Deploy         ContainersDeployCmd    `cmd:"" help:"Deactivate the activated components that are no longer available, then activate the available ones that are not active (or whose path changed)."`
	Run            ContainersRunCmd       `cmd:"" help:"Run an activity on every activated component."`
	Snapshot       ContainersSnapshotCmd  `cmd:"" help:"Snapshot every activated component."`
	Restore        ContainersRestoreCmd   `cmd:"" help:"Restore the latest snapshot of every activated component (asks for confirmation)."`
	CollectGarbage ContainersGarbageCmd   `cmd:"" name:"collect-garbage" help:"Delete the state of every deactivated (garbage) component."`
	GenerateExpr   ContainersExprCmd      `cmd:"" name:"generate-expr" help:"Print the Nix expression of the machine's properties and containers (for Disnix)."`
	GenerateDot    ContainersDotCmd       `cmd:"" name:"generate-dot" help:"Print a Graphviz graph of the containers and their available components."`
}

// Only restricts a bulk command to one container.
type Only struct {
	Container string `short:"C" placeholder:"NAME" help:"Only this container."`
}

func (o Only) validate() error {
	if o.Container == "" {
		return nil
	}
	if err := store.ValidSegment(o.Container); err != nil {
		return fmt.Errorf("--container takes a container name: %w", err)
	}
	return nil
}

// ContainersListCmd lists the container names.
type ContainersListCmd struct {
	JSON bool `name:"json" help:"Print JSON (docs/json.md): {version, containers: [{name, file}]}."`
}

// Run implements the command.
func (c *ContainersListCmd) Run(app *App) error {
	env := app.Env()
	names, err := config.ContainerNames(env.ContainersPath)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	rows := []containerJSON{}
	for _, n := range names {
		file, err := config.FindContainer(n, env.ContainersPath)
		if err != nil {
			return err
		}
		rows = append(rows, containerJSON{n, file})
	}
	if c.JSON {
		return writeJSON(app.Stdout, containersJSON{Version: jsonVersion, Containers: rows})
	}
	for _, r := range rows {
		if _, err := fmt.Fprintln(app.Stdout, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// ContainersAvailableCmd lists the available components.
type ContainersAvailableCmd struct {
	Only
	JSON bool `name:"json" help:"Print JSON (docs/json.md): {version, components: [{container, component, entry, path, problem}]}."`
}

// Run implements the command. Components are listed under the name
// modules and markers use: the name of the real component path.
func (c *ContainersAvailableCmd) Run(app *App) error {
	if err := c.validate(); err != nil {
		return err
	}
	comps, warnings, err := deploy.Available(app.Env().ComponentsPath, c.Container)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		app.Report.Warnf("%s", w)
	}
	if c.JSON {
		rows := []componentJSON{}
		for _, cp := range comps {
			r := componentJSON{Container: cp.Container, Component: cp.Component, Entry: cp.Entry, Path: cp.Path}
			if cp.Problem != nil {
				r.Problem = cp.Problem.Error()
			}
			rows = append(rows, r)
		}
		return writeJSON(app.Stdout, componentsJSON{Version: jsonVersion, Components: rows})
	}
	for _, cp := range comps {
		if _, err := fmt.Fprintln(app.Stdout, cp.Key); err != nil {
			return err
		}
	}
	return nil
}

// ContainersActivatedCmd lists the activated components.
type ContainersActivatedCmd struct {
	Only
	JSON bool `name:"json" help:"Print JSON (docs/json.md): {version, components: [{container, component, path, type}]}; path and type are empty for markers written by upstream Dysnomia."`
}

// Run implements the command.
func (c *ContainersActivatedCmd) Run(app *App) error {
	if err := c.validate(); err != nil {
		return err
	}
	st, err := app.Store()
	if err != nil {
		return err
	}
	markers, err := activated(st, c.Container)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(app.Stdout, componentsJSON{Version: jsonVersion, Components: markerRows(markers)})
	}
	for _, m := range markers {
		if _, err := fmt.Fprintln(app.Stdout, m.Key); err != nil {
			return err
		}
	}
	return nil
}

func markerRows(ms []store.Marker) []componentJSON {
	rows := []componentJSON{}
	for _, m := range ms {
		rows = append(rows, componentJSON{Container: m.Container, Component: m.Component, Path: m.ComponentPath, Type: m.Type})
	}
	return rows
}

// activated lists the activated markers, of one container when only is set.
func activated(st *store.Store, only string) ([]store.Marker, error) {
	ms, err := st.Activated()
	if err != nil {
		return nil, fmt.Errorf("read activated components in %s: %w", st.Dir(), err)
	}
	return filterMarkers(ms, only), nil
}

func filterMarkers(ms []store.Marker, only string) []store.Marker {
	if only == "" {
		return ms
	}
	var out []store.Marker
	for _, m := range ms {
		if m.Container == only {
			out = append(out, m)
		}
	}
	return out
}
