package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/alecthomas/kong"
	mangokong "github.com/alecthomas/mango-kong"
	"github.com/muesli/roff"
)

// ManCmd prints the manual page, generated from the command grammar (the
// package installs it as dysnomia(1)).
type ManCmd struct{}

// Run implements the command.
func (ManCmd) Run(kctx *kong.Context, app *App) error {
	page := mangokong.NewManPage(1, kctx.Model).
		WithSection("Upstream command line", upstreamManText()).
		WithSection("Exit status", exitCodesHelp).
		WithSection("Environment", environmentHelp).
		WithSection("See also", "https://github.com/dysnomia-go/dysnomia — the README, docs/system-config.md and nixos-module/README.md.")
	_, err := fmt.Fprint(app.Stdout, page.Build(datedDocument{roff.NewDocument(), pageDate(app.Getenv)}))
	return err
}

// datedDocument dates the page's heading with a fixed time instead of the
// clock, so that the page a package build writes is reproducible, and
// gives it a short centre title (the program's one-line description is
// too long for the heading line).
type datedDocument struct {
	*roff.Document
	date time.Time
}

func (d datedDocument) Heading(section uint, title, description string, _ time.Time) {
	d.Document.Heading(section, title, "Dysnomia Manual", d.date)
}

// pageDate is SOURCE_DATE_EPOCH (set by Nix builds) when given, else the
// clock.
func pageDate(getenv func(string) string) time.Time {
	if sec, err := strconv.ParseInt(getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return time.Unix(sec, 0).UTC()
	}
	return time.Now().UTC()
}

const environmentHelp = `DYSNOMIA_STATEDIR: the state directory (default /var/state/dysnomia for root, ~/.dysnomia for others). ` +
	`DYSNOMIA_CONTAINERS_PATH, DYSNOMIA_COMPONENTS_PATH, DYSNOMIA_MODULES_PATH: colon-separated search paths of container files, components and external modules. ` +
	`DYSNOMIA_PROPERTIES: the machine properties file. DYSNOMIA_SHELL_VALUES: see --shell-values. NIX_STORE_DIR: the store prefix stripped from names.`
