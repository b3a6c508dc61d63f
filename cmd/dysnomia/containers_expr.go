package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/deploy"
	"github.com/dysnomia-go/dysnomia/internal/nixexpr"
)

// ContainersExprCmd prints the machine's Nix expression.
type ContainersExprCmd struct{}

// Run implements the command. The properties file (DYSNOMIA_PROPERTIES) and
// the container files are parsed with the shell-values mode, by default
// "trusted": upstream's properties hold mem="$(grep MemTotal …)", which
// Disnix's infrastructure capture expects evaluated, and which is
// evaluated when no one but root (or the user running this) can change the
// file (config.Trusted); in any other file it is an error naming the file,
// the line and the rule. Nothing is printed unless every file parses:
// Disnix writes standard output to a file and evaluates it.
func (ContainersExprCmd) Run(app *App) error {
	m, err := loadMachine(app)
	if err != nil {
		return err
	}
	out, err := nixexpr.Render(m.Expr())
	if err != nil {
		return fmt.Errorf("generate-expr: %w", err)
	}
	_, err = app.Stdout.Write(out)
	return err
}

// loadMachine reads the properties file, when there is one, and every
// container file (the first directory of the containers path wins for a
// name), reporting every file that does not parse.
func loadMachine(app *App) (nixexpr.Machine, error) {
	var m nixexpr.Machine
	mode, err := app.ShellModeOr(config.ShellTrusted)
	if err != nil {
		return m, err
	}
	env := app.Env()
	var errs []error
	props, err := config.ParseFile(env.Properties, mode)
	switch {
	case err == nil:
		m.Properties, m.HasProperties = props, true
	case errors.Is(err, fs.ErrNotExist):
	default:
		errs = append(errs, fmt.Errorf("properties file %s: %w", env.Properties, err))
	}
	names, err := config.ContainerNames(env.ContainersPath)
	if err != nil {
		return m, fmt.Errorf("list containers: %w", err)
	}
	for _, name := range names {
		file, err := config.FindContainer(name, env.ContainersPath)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := config.LoadContainer(file, mode)
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", name, err))
			continue
		}
		m.Containers = append(m.Containers, nixexpr.Container{Name: name, Properties: c.Properties})
	}
	return m, errors.Join(errs...)
}

// ContainersDotCmd prints a Graphviz graph of the containers.
type ContainersDotCmd struct{}

// Run implements the command: one cluster per container file, holding the
// container's available components.
func (ContainersDotCmd) Run(app *App) error {
	env := app.Env()
	names, err := config.ContainerNames(env.ContainersPath)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	comps, warnings, err := deploy.Available(env.ComponentsPath, "")
	if err != nil {
		return err
	}
	for _, w := range warnings {
		app.Report.Warnf("%s", w)
	}
	byContainer := map[string][]string{}
	for _, c := range comps {
		byContainer[c.Container] = append(byContainer[c.Container], c.Component)
	}
	var b strings.Builder
	writeDot(&b, names, byContainer)
	_, err = io.WriteString(app.Stdout, b.String())
	return err
}

// writeDot renders the graph in upstream's shape. Every id is a quoted
// string, so container and component names may hold any character.
func writeDot(b *strings.Builder, containers []string, components map[string][]string) {
	b.WriteString("digraph G {\n")
	for _, c := range containers {
		fmt.Fprintf(b, "  subgraph %s {\n", dotQuote("cluster_"+c))
		b.WriteString("    style=filled;\n")
		fmt.Fprintf(b, "    label=%s;\n", dotQuote(c))
		b.WriteString("    fillcolor=grey;\n")
		b.WriteString("    node [style=filled,fillcolor=white,color=black];\n")
		for _, comp := range components[c] {
			fmt.Fprintf(b, "    %s [ label = %s ];\n", dotQuote(c+"/"+comp), dotQuote(comp))
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
}

// dotQuote renders s as a DOT double-quoted string. Backslashes are
// doubled (so a label shows them as written and no escape such as \N or \l
// is formed), quotes are escaped, and line breaks become \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return `"` + r.Replace(s) + `"`
}
