package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/getopt"
	"github.com/dysnomia-go/dysnomia/internal/module"
)

// translate turns an upstream command line into the modern one. prog is the
// name the binary was invoked as: "dysnomia-snapshots" and
// "dysnomia-containers" always take their upstream options; "dysnomia" takes
// its upstream options when the command line starts with an option and has
// no modern subcommand, and is otherwise passed to kong unchanged.
func translate(prog string, args []string) ([]string, error) {
	switch prog {
	case "dysnomia-snapshots":
		return translateSnapshots(args)
	case "dysnomia-containers":
		return translateContainers(args)
	}
	if cmd, ok := accountTools[prog]; ok {
		return translateAccounts(prog, cmd, args)
	}
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") {
		return args, nil
	}
	parsed, operands, err := getopt.Parse(dysnomiaOptions, args)
	if err != nil {
		// Not an upstream command line: let kong explain what is wrong.
		return args, nil
	}
	for _, op := range operands {
		if modernCommands[op] {
			return args, nil
		}
	}
	return translateDysnomia(parsed)
}

// modernCommands are the top-level subcommand names of the modern grammar.
var modernCommands = map[string]bool{
	"activate": true, "deactivate": true, "lock": true, "unlock": true, "snapshot": true,
	"restore": true, "collect-garbage": true, "shell": true, "version": true, "modules": true,
	"snapshots": true, "containers": true, "system": true, "users": true, "groups": true,
	"help": true, "completion": true, "man": true, "move": true,
}

// accountTools maps upstream's user and group tools to modern subcommands.
var accountTools = map[string][]string{
	"dysnomia-addusers":  {"users", "add"},
	"dysnomia-delusers":  {"users", "del"},
	"dysnomia-addgroups": {"groups", "add"},
	"dysnomia-delgroups": {"groups", "del"},
}

var accountOptions = []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "version", Short: 'v'},
}

// translateAccounts takes upstream's command line of an account tool:
// -h, -v and one path (extra operands are ignored, as upstream).
func translateAccounts(prog string, cmd, args []string) ([]string, error) {
	parsed, operands, err := getopt.Parse(accountOptions, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prog, err)
	}
	for _, p := range parsed {
		switch p.Name {
		case "help":
			return append(append([]string{}, cmd...), "--help"), nil
		case "version":
			return []string{"version"}, nil
		}
	}
	if len(operands) == 0 {
		return nil, fmt.Errorf("%s: no path given (usage: %s PATH, a spec file or a component directory)", prog, prog)
	}
	return append(append([]string{}, cmd...), "--", operands[0]), nil
}

var dysnomiaOptions = getoptOptions(dysnomiaFlags)

func translateDysnomia(parsed []getopt.Parsed) ([]string, error) {
	var op, component, container, typ, command string
	var env, help, ver, haveComponent, haveContainer, haveType, haveCommand bool
	for _, p := range parsed {
		switch p.Name {
		case "operation":
			op = p.Value
		case "shell":
			op = string(module.Shell)
		case "component":
			component, haveComponent = p.Value, true
		case "container":
			container, haveContainer = p.Value, true
		case "type":
			typ, haveType = p.Value, true
		case "environment":
			env = true
		case "command":
			command, haveCommand = p.Value, true
		case "help":
			help = true
		case "version":
			ver = true
		}
	}
	switch {
	case help:
		return []string{"--help"}, nil
	case ver:
		return []string{"version"}, nil
	case op == "":
		return nil, errors.New("no operation given: use --operation ACTIVITY or --shell (see --help)")
	}
	act, err := module.ParseActivity(op)
	if err != nil {
		return nil, err
	}
	out := []string{string(act)}
	if haveComponent {
		out = append(out, "--component="+component)
	}
	if haveContainer {
		out = append(out, "--container="+container)
	}
	if haveType {
		out = append(out, "--type="+typ)
	}
	if env {
		out = append(out, "--environment")
	}
	if act == module.Shell && haveCommand {
		out = append(out, "--command="+command)
	}
	return out, nil
}

var snapshotsOptions = getoptOptions(snapshotsFlags)

// snapshotsOps maps dysnomia-snapshots operations to modern subcommands.
var snapshotsOps = map[string]string{
	"query-all": "list", "query-latest": "latest", "print-missing": "print-missing",
	"resolve": "resolve", "gc": "gc", "import": "add",
}

func translateSnapshots(args []string) ([]string, error) {
	parsed, operands, err := getopt.Parse(snapshotsOptions, args)
	if err != nil {
		return nil, fmt.Errorf("dysnomia-snapshots: %w", err)
	}
	var op string
	var flags []string
	var check bool
	keep := ""
	for _, p := range parsed {
		switch p.Name {
		case "help":
			return []string{"snapshots", "--help"}, nil
		case "version":
			return []string{"version"}, nil
		case "check":
			check = true
		case "container", "component":
			flags = setFlag(flags, p.Name, p.Value)
		case "keep":
			keep = p.Value
		default:
			op = snapshotsOps[p.Name]
		}
	}
	if op == "" {
		return nil, errors.New("dysnomia-snapshots: no operation given (want --query-all, --query-latest, --print-missing, --resolve, --gc or --import)")
	}
	out := append([]string{"snapshots", op}, flags...)
	if check && (op == "list" || op == "latest") {
		out = append(out, "--check")
	}
	if keep != "" && op == "gc" {
		out = append(out, "--keep="+keep)
	}
	if len(operands) > 0 {
		out = append(append(out, "--"), operands...)
	}
	return out, nil
}

var containersOptions = getoptOptions(containersFlags)

// containersOps maps dysnomia-containers actions to modern subcommands.
var containersOps = map[string]string{
	"query-containers": "list", "query-available-components": "available",
	"query-activated-components": "activated", "generate-expr": "generate-expr",
	"generate-dot": "generate-dot", "deploy": "deploy", "snapshot": "snapshot",
	"restore": "restore", "collect-garbage": "collect-garbage",
}

func translateContainers(args []string) ([]string, error) {
	parsed, _, err := getopt.Parse(containersOptions, args)
	if err != nil {
		return nil, fmt.Errorf("dysnomia-containers: %w", err)
	}
	var action, operation, container, shellValues string
	var yes, haveContainer, jsonOut, dryRun bool
	for _, p := range parsed {
		switch p.Name {
		case "shell-values":
			shellValues = p.Value
		case "json":
			jsonOut = true
		case "dry-run":
			dryRun = true
		case "help":
			return []string{"containers", "--help"}, nil
		case "version":
			return []string{"version"}, nil
		case "container":
			container, haveContainer = p.Value, true
		case "y":
			yes = true
		case "operation":
			action, operation = "run", p.Value
		default:
			action = containersOps[p.Name]
		}
	}
	if action == "" {
		return nil, errors.New("dysnomia-containers: no action given (want --query-containers, --query-available-components, --query-activated-components, --deploy, --snapshot, --restore, --collect-garbage, -o OP, --generate-expr or --generate-dot)")
	}
	out := []string{"containers", action}
	if action == "run" {
		out = append(out, "--operation="+operation)
	}
	if haveContainer && action != "generate-expr" && action != "generate-dot" {
		out = append(out, "--container="+container)
	}
	if yes && action == "restore" {
		out = append(out, "--yes")
	}
	if dryRun {
		out = append(out, "--dry-run")
	}
	if jsonOut {
		out = append(out, "--json")
	}
	if shellValues != "" {
		out = append(out, "--shell-values="+shellValues)
	}
	return out, nil
}

// setFlag sets --name=value in flags, a later occurrence replacing an
// earlier one as getopt callers expect.
func setFlag(flags []string, name, value string) []string {
	prefix := "--" + name + "="
	for i, f := range flags {
		if strings.HasPrefix(f, prefix) {
			flags[i] = prefix + value
			return flags
		}
	}
	return append(flags, prefix+value)
}
