package main

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/dysnomia-go/dysnomia/internal/users"
)

// UsersCmd creates and deletes the user accounts a component declares
// (upstream dysnomia-addusers / dysnomia-delusers).
type UsersCmd struct {
	Add AccountsCmd `cmd:"" help:"Create the users that PATH declares (a spec file, or a component's dysnomia-support/users/) and do not exist yet."`
	Del AccountsCmd `cmd:"" help:"Delete the users that PATH declares; their home directories are kept."`
}

// GroupsCmd creates and deletes the groups a component declares (upstream
// dysnomia-addgroups / dysnomia-delgroups).
type GroupsCmd struct {
	Add AccountsCmd `cmd:"" help:"Create the groups that PATH declares (a spec file, or a component's dysnomia-support/groups/) and do not exist yet."`
	Del AccountsCmd `cmd:"" help:"Delete the groups that PATH declares."`
}

// AccountsCmd is one of the four account operations; which one is given by
// the command's path (users add, groups del, …).
type AccountsCmd struct {
	Path string `arg:"" placeholder:"PATH" help:"A spec file, or a component directory with dysnomia-support/users/ or groups/."`
}

// Run implements the command.
func (c *AccountsCmd) Run(ctx context.Context, kctx *kong.Context, app *App) error {
	m := &users.Manager{Env: app.Environ, Stdout: app.Stdout, Stderr: app.Stderr, Report: app.Report}
	path := kctx.Path
	kind, op := "", kctx.Selected().Name
	for _, p := range path {
		if p.Command != nil && (p.Command.Name == "users" || p.Command.Name == "groups") {
			kind = p.Command.Name
		}
	}
	switch kind + " " + op {
	case "users add":
		return m.AddUsers(ctx, c.Path)
	case "users del":
		return m.DelUsers(ctx, c.Path)
	case "groups add":
		return m.AddGroups(ctx, c.Path)
	default:
		return m.DelGroups(ctx, c.Path)
	}
}
