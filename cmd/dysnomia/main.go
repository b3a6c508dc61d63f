// Command dysnomia deploys and keeps mutable state — databases, repositories,
// directories of files — the way Nix deploys packages.
//
// The binary answers to several names. As "dysnomia" it takes the modern
// subcommands (kong grammar below) and also upstream's option-style command
// line (dysnomia --operation activate …), which is how Disnix calls it. As
// "dysnomia-snapshots" or "dysnomia-containers" (symlinks) it takes those
// upstream tools' options, and as "dysnomia-addusers", "dysnomia-delusers",
// "dysnomia-addgroups" or "dysnomia-delgroups" it is that account tool. Upstream command lines are translated into modern
// ones (compat.go) and run by the same code.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
	"github.com/dysnomia-go/dysnomia/internal/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit statuses. A failing module's own status is passed through unchanged.
const (
	exitOK        = 0
	exitError     = 1
	exitIntegrity = 65 // EX_DATAERR: a snapshot is missing, does not match its checksum, or holds an incomplete dump
	exitLocked    = 75 // EX_TEMPFAIL: the state directory is locked by another process
)

const exitCodesHelp = `Exit status: 0 success; 1 error (bad usage or name, missing container or component, missing state directory, failed activity); ` +
	`65 integrity failure (a snapshot is missing, does not match its checksum, or holds an incomplete dump; nothing was changed); ` +
	`75 the state directory is locked by another dysnomia process; ` +
	`any other status is a failing external module's own status, passed through.`

// CLI is the modern command line.
type CLI struct {
	Globals

	Activate       ActivityCmd   `cmd:"" help:"Bring a component into service (create its state if needed)."`
	Deactivate     ActivityCmd   `cmd:"" help:"Take a component out of service; its state is kept until collect-garbage."`
	Lock           ActivityCmd   `cmd:"" help:"Ask a component to quiesce before an upgrade; fails if it refuses."`
	Unlock         ActivityCmd   `cmd:"" help:"Release a lock taken with lock."`
	Snapshot       ActivityCmd   `cmd:"" help:"Capture the component's state in the snapshot store."`
	Restore        RestoreCmd    `cmd:"" help:"Put back the latest (or a named) snapshot of the component."`
	CollectGarbage ActivityCmd   `cmd:"" name:"collect-garbage" help:"Delete the state of a deactivated component."`
	Shell          ShellCmd      `cmd:"" help:"Start a shell set up for the component (psql environment, properties, …)."`
	Version        VersionCmd    `cmd:"" help:"Print the version."`
	Modules        ModulesCmd    `cmd:"" help:"List the built-in module types."`
	Containers     ContainersCmd `cmd:"" help:"Operate on every configured container and component (upstream dysnomia-containers): list, deploy, snapshot, restore, generate-expr, …"`
	Snapshots      SnapshotsCmd  `cmd:"" help:"Query, check, collect and move the snapshot store (upstream dysnomia-snapshots): list, latest, check, gc, export, import, …"`
	System         SystemCmd     `cmd:"" help:"The NixOS entry points for a JSON system config: check, switch, pre-switch."`
	Users          UsersCmd      `cmd:"" help:"Create or delete the user accounts a component declares (upstream dysnomia-addusers, dysnomia-delusers)."`
	Groups         GroupsCmd     `cmd:"" help:"Create or delete the groups a component declares (upstream dysnomia-addgroups, dysnomia-delgroups)."`
	Help           HelpCmd       `cmd:"" help:"Describe the program, or a command (dysnomia help snapshots gc)."`
	Completion     CompletionCmd `cmd:"" help:"Print the shell completion script for bash, zsh or fish (e.g. dysnomia completion bash > /etc/bash_completion.d/dysnomia)."`
	Man            ManCmd        `cmd:"" hidden:"" help:"Print the manual page (roff)."`
	Move           MoveCmd       `cmd:"" help:"Move a component's state to another machine: lock, final snapshot, push, restore there, unlock."`
}

// Globals are flags every subcommand accepts.
type Globals struct {
	StateDir    string `name:"state-dir" placeholder:"DIR" help:"State directory (default: $$DYSNOMIA_STATEDIR, else /var/state/dysnomia for root, ~/.dysnomia for others)."`
	ShellValues string `name:"shell-values" placeholder:"MODE" help:"What to do with container or properties values that need shell evaluation ($$(…), $$VAR): reject, literal (keep as written), eval (run /bin/sh, as upstream) or trusted (eval only in files no one but root or you can change). Default: $$DYSNOMIA_SHELL_VALUES, else trusted for generate-expr and reject elsewhere."`
	LockTimeout string `name:"lock-timeout" default:"5m" placeholder:"DURATION" help:"How long to wait for the state directory lock held by another process."`
	Quiet       bool   `short:"q" help:"Print only results, warnings and errors: no notes, no progress. (Progress is only ever drawn on a terminal.)"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	report := ui.NewText(stderr, isTerminal(stderr))
	prog := filepath.Base(argv[0])
	args, err := translate(prog, argv[1:])
	if err != nil {
		report.Errorf("%v", err)
		return exitError
	}
	if len(args) == 0 {
		args = []string{"--help"} // bare dysnomia: what it can do, not an error
	}
	app := &App{Prog: prog, Stdin: stdin, Stdout: stdout, Stderr: stderr, Environ: environ, Report: report}
	var cli CLI
	exited := -1
	parser, err := kong.New(&cli,
		kong.Name("dysnomia"),
		kong.Description("Deploy and keep mutable state (databases, repositories, directories) the way Nix deploys packages.\n\n"+exitCodesHelp),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited = code; panic(exitPanic{}) }),
		kong.Bind(app),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.ValueFormatter(helpWithDefault),
		kong.Help(helpPrinter(app)),
	)
	if err != nil {
		report.Errorf("%v", err)
		return exitError
	}
	if prog == "dysnomia" && complete(parser, environ) {
		return exitOK
	}
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					panic(r)
				}
				code = exited
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			report.Errorf("%v", err)
			return exitError
		}
		app.Globals = &cli.Globals
		report.Quiet = cli.Quiet
		kctx.BindTo(ctx, (*context.Context)(nil))
		return exitCode(report, kctx.Run())
	}()
	return code
}

type exitPanic struct{}

// helpWithDefault shows a flag's default in its help, unless the help
// already says it.
func helpWithDefault(v *kong.Value) string {
	help := kong.DefaultHelpValueFormatter(v)
	if v.Default == "" || v.IsBool() || strings.Contains(v.Help, "default") || strings.Contains(v.Help, "Default") {
		return help
	}
	return help + " (default: " + v.Default + ")"
}

// exitCode prints err and maps it to the process exit status.
func exitCode(report *ui.Text, err error) int {
	if err == nil {
		return exitOK
	}
	report.Errorf("%v", err)
	var me *module.ExitError
	var le *store.LockedError
	var ie *store.IntegrityError
	switch {
	case errors.As(err, &me):
		return me.Code
	case errors.As(err, &le):
		return exitLocked
	case errors.As(err, &ie):
		return exitIntegrity
	}
	return exitError
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
