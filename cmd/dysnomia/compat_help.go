package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/dysnomia-go/dysnomia/internal/getopt"
)

// compatFlag is one option of an upstream command line: what the parser
// takes (compat.go) and what the help says, from one table so that they
// cannot drift apart.
type compatFlag struct {
	getopt.Option
	Arg  string // placeholder of the value, for HasArg options
	Help string
	Op   bool // an operation or action (listed apart from the modifiers)
}

func getoptOptions(flags []compatFlag) []getopt.Option {
	out := make([]getopt.Option, len(flags))
	for i, f := range flags {
		out[i] = f.Option
	}
	return out
}

var dysnomiaFlags = []compatFlag{
	{Option: getopt.Option{Long: "operation", Short: 'o', HasArg: true}, Arg: "ACTIVITY", Help: "The activity: activate, deactivate, lock, unlock, snapshot, restore or collect-garbage (the modern subcommand of that name)."},
	{Option: getopt.Option{Long: "component", Short: 'c', HasArg: true}, Arg: "NAME|PATH", Help: "The component: a path (starting with / or ./), or a name looked up in DYSNOMIA_COMPONENTS_PATH/<container>/."},
	{Option: getopt.Option{Long: "container", Short: 'C', HasArg: true}, Arg: "NAME|PATH", Help: "The container: a container file path, or a name looked up in DYSNOMIA_CONTAINERS_PATH. With --environment, only a name."},
	{Option: getopt.Option{Long: "type", Short: 't', HasArg: true}, Arg: "TYPE", Help: "Module type, or a path to a module executable or package. Required with --environment; otherwise the container file's type= line wins."},
	{Option: getopt.Option{Long: "environment", Short: 'E'}, Help: "Take the container properties from the environment instead of a container file (how Disnix calls dysnomia)."},
	{Option: getopt.Option{Long: "shell"}, Help: "Start a shell set up for the component (the shell activity)."},
	{Option: getopt.Option{Long: "command", HasArg: true}, Arg: "CMDS", Help: "With --shell: run CMDS in the session instead of an interactive shell."},
	{Option: getopt.Option{Long: "help", Short: 'h'}, Help: "Show this help."},
	{Option: getopt.Option{Long: "version", Short: 'v'}, Help: "Print the version."},
}

var snapshotsFlags = []compatFlag{
	{Option: getopt.Option{Long: "query-all"}, Op: true, Help: "Print every generation of the selected components, oldest first, as <container>/<component>/<id> [list]."},
	{Option: getopt.Option{Long: "query-latest"}, Op: true, Help: "Print the latest generation of each selected component [latest]."},
	{Option: getopt.Option{Long: "print-missing"}, Op: true, Help: "Print those of the given snapshots (<container>/<component>/<id>) that this store does not have [print-missing]."},
	{Option: getopt.Option{Long: "resolve"}, Op: true, Help: "Print the directory of each given snapshot [resolve]."},
	{Option: getopt.Option{Long: "gc"}, Op: true, Help: "Remove all but the latest --keep generations of each selected component, and every snapshot no generation points to [gc]."},
	{Option: getopt.Option{Long: "import"}, Op: true, Help: "Bring the given snapshot directories into the store as the latest generations of --container and --component [add]."},
	{Option: getopt.Option{Long: "check"}, Help: "With --query-all or --query-latest: verify each snapshot printed against its checksum (exit 65 if one is damaged or missing)."},
	{Option: getopt.Option{Long: "container", Short: 'C', HasArg: true}, Arg: "NAME", Help: "Select one container."},
	{Option: getopt.Option{Long: "component", Short: 'c', HasArg: true}, Arg: "NAME|PATH", Help: "Select one component (a Nix store path stands for its name without the hash)."},
	{Option: getopt.Option{Long: "keep", HasArg: true}, Arg: "N", Help: "With --gc: how many generations to keep (default 1)."},
	{Option: getopt.Option{Long: "help", Short: 'h'}, Help: "Show this help."},
	{Option: getopt.Option{Long: "version", Short: 'v'}, Help: "Print the version."},
}

var containersFlags = []compatFlag{
	{Option: getopt.Option{Long: "query-containers"}, Op: true, Help: "List the container files of DYSNOMIA_CONTAINERS_PATH [list]."},
	{Option: getopt.Option{Long: "query-available-components"}, Op: true, Help: "List the <container>/<component> entries of DYSNOMIA_COMPONENTS_PATH [available]."},
	{Option: getopt.Option{Long: "query-activated-components"}, Op: true, Help: "List the activated components recorded in the state directory [activated]."},
	{Option: getopt.Option{Long: "generate-expr"}, Op: true, Help: "Print the Nix expression of the machine's properties and containers, for Disnix's infrastructure capture [generate-expr]."},
	{Option: getopt.Option{Long: "generate-dot"}, Op: true, Help: "Print a Graphviz graph of the containers and their available components [generate-dot]."},
	{Option: getopt.Option{Long: "operation", Short: 'o', HasArg: true}, Arg: "ACTIVITY", Op: true, Help: "Run ACTIVITY on every activated component [run]."},
	{Option: getopt.Option{Long: "deploy"}, Op: true, Help: "Deactivate the activated components that are no longer available, then activate the available ones that are not active [deploy]."},
	{Option: getopt.Option{Long: "snapshot"}, Op: true, Help: "Snapshot every activated component [snapshot]."},
	{Option: getopt.Option{Long: "restore"}, Op: true, Help: "Restore the latest snapshot of every activated component, after asking [restore]."},
	{Option: getopt.Option{Long: "collect-garbage"}, Op: true, Help: "Delete the state of every deactivated component [collect-garbage]."},
	{Option: getopt.Option{Long: "container", Short: 'C', HasArg: true}, Arg: "NAME", Help: "Restrict the queries and operations to one container (--generate-expr and --generate-dot list every one)."},
	{Option: getopt.Option{Short: 'y'}, Help: "With --restore: do not ask for confirmation."},
	{Option: getopt.Option{Long: "json"}, Help: "With the queries, or --deploy --dry-run: print JSON (not in upstream)."},
	{Option: getopt.Option{Long: "dry-run"}, Help: "With --deploy: print the plan and change nothing (not in upstream)."},
	{Option: getopt.Option{Long: "shell-values", HasArg: true}, Arg: "MODE", Help: "What to do with values that need shell evaluation: reject, literal, eval or trusted (default for --generate-expr: trusted; see dysnomia --help) (not in upstream)."},
	{Option: getopt.Option{Long: "help", Short: 'h'}, Help: "Show this help."},
	{Option: getopt.Option{Long: "version", Short: 'v'}, Help: "Print the version."},
}

// upstreamDysnomiaHelp is the part of dysnomia --help that describes the
// upstream command line.
func upstreamDysnomiaHelp() string {
	var b strings.Builder
	b.WriteString("Upstream command line (Dysnomia 0.10.2; how Disnix calls dysnomia):\n")
	b.WriteString("  dysnomia --operation ACTIVITY --component C --container K\n")
	b.WriteString("  dysnomia --type T --operation ACTIVITY --component C [--container K] --environment\n")
	b.WriteString("  dysnomia --shell --component C (--container K | --type T --environment) [--command CMDS]\n\n")
	writeFlags(&b, dysnomiaFlags)
	b.WriteString("\n")
	b.WriteString(wrap("Long options may be abbreviated to any unique prefix, short options bundled, and options given in any order; a later occurrence wins, as with getopt.", 0))
	return b.String()
}

// upstreamManText is the upstream command line of dysnomia as one
// paragraph, for the manual page.
func upstreamManText() string {
	var b strings.Builder
	b.WriteString("How Disnix calls dysnomia (upstream Dysnomia 0.10.2's options): dysnomia --type T --operation ACTIVITY --component C [--container K] --environment, or with --container K naming a container file instead of --environment. ")
	for _, f := range dysnomiaFlags {
		if f.Short != 0 {
			fmt.Fprintf(&b, "-%c, ", f.Short)
		}
		b.WriteString("--" + f.Long)
		if f.HasArg {
			b.WriteString("=" + f.Arg)
		}
		b.WriteString(": " + f.Help + " ")
	}
	b.WriteString("Invoked as dysnomia-snapshots or dysnomia-containers, the binary takes those tools' options; their --help lists them.")
	return b.String()
}

// upstreamToolHelp is the help of dysnomia-snapshots and
// dysnomia-containers: the upstream flags they take.
func upstreamToolHelp(prog string) string {
	var b strings.Builder
	var flags []compatFlag
	switch prog {
	case "dysnomia-snapshots":
		flags = snapshotsFlags
		b.WriteString("Usage: dysnomia-snapshots OPERATION [OPTION...] [SNAPSHOT...|PATH...]\n\n")
		b.WriteString(wrap("Upstream dysnomia-snapshots (Dysnomia 0.10.2), as Disnix calls it. Each operation runs the dysnomia snapshots subcommand in brackets; \"dysnomia snapshots SUBCOMMAND --help\" describes it in full.", 0))
	default:
		flags = containersFlags
		b.WriteString("Usage: dysnomia-containers ACTION [OPTION...]\n\n")
		b.WriteString(wrap("Upstream dysnomia-containers (Dysnomia 0.10.2), as Disnix calls it. Each action runs the dysnomia containers subcommand in brackets; \"dysnomia containers SUBCOMMAND --help\" describes it in full.", 0))
	}
	var ops, mods []compatFlag
	for _, f := range flags {
		if f.Op {
			ops = append(ops, f)
		} else {
			mods = append(mods, f)
		}
	}
	b.WriteString("\nOperations (give one; the last one given wins):\n")
	writeFlags(&b, ops)
	b.WriteString("\nOptions:\n")
	writeFlags(&b, mods)
	b.WriteString("\n")
	b.WriteString(wrap("Long options may be abbreviated to any unique prefix, as with getopt. The environment (DYSNOMIA_STATEDIR, DYSNOMIA_CONTAINERS_PATH, DYSNOMIA_COMPONENTS_PATH, DYSNOMIA_PROPERTIES) is read as by dysnomia.", 0))
	return b.String()
}

const helpWidth = 80

// writeFlags lists flags as kong does: the spelling, then the help
// wrapped in a column.
func writeFlags(b *strings.Builder, flags []compatFlag) {
	const col = 32
	for _, f := range flags {
		var left string
		switch {
		case f.Short != 0 && f.Long != "":
			left = fmt.Sprintf("  -%c, --%s", f.Short, f.Long)
		case f.Short != 0:
			left = fmt.Sprintf("  -%c", f.Short)
		default:
			left = "      --" + f.Long
		}
		if f.HasArg {
			left += "=" + f.Arg
		}
		help := strings.Split(strings.TrimSuffix(wrap(f.Help, col), "\n"), "\n")
		if len(left)+2 > col {
			b.WriteString(left + "\n")
		} else {
			help[0] = left + strings.Repeat(" ", col-len(left)) + help[0][col:]
		}
		for _, l := range help {
			b.WriteString(l + "\n")
		}
	}
}

// wrap fills text into lines of helpWidth, each indented by indent spaces.
func wrap(text string, indent int) string {
	var b strings.Builder
	line := strings.Repeat(" ", indent)
	n := indent
	for _, w := range strings.Fields(text) {
		if n > indent && n+1+len([]rune(w)) > helpWidth {
			b.WriteString(line + "\n")
			line, n = strings.Repeat(" ", indent), indent
		}
		if n > indent {
			line += " "
			n++
		}
		line += w
		n += len([]rune(w))
	}
	b.WriteString(line + "\n")
	return b.String()
}

// helpPrinter is kong's help with the upstream command lines added:
// dysnomia --help ends with the upstream flags of dysnomia, and the
// upstream tool names print their own flags.
func helpPrinter(app *App) kong.HelpPrinter {
	return func(options kong.HelpOptions, ctx *kong.Context) error {
		if app.Prog == "dysnomia-snapshots" || app.Prog == "dysnomia-containers" {
			_, err := io.WriteString(ctx.Stdout, upstreamToolHelp(app.Prog))
			return err
		}
		if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
			return err
		}
		if ctx.Selected() == nil {
			_, err := io.WriteString(ctx.Stdout, "\n"+upstreamDysnomiaHelp())
			return err
		}
		return nil
	}
}
