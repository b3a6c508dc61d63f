package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// CompletionCmd prints the script that makes a shell complete dysnomia's
// commands and flags. The shell calls dysnomia itself to complete (with
// COMP_LINE set), so the completions always match the binary.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

// completionScripts are the shells' ways of asking a program to complete
// its own command line (posener/complete's protocol, which kongplete
// answers).
var completionScripts = map[string]string{
	"bash": "complete -C dysnomia dysnomia\n",
	"zsh":  "#compdef dysnomia\nautoload -U +X bashcompinit && bashcompinit\ncomplete -C dysnomia dysnomia\n",
	"fish": `function __complete_dysnomia
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    dysnomia
end
complete -f -c dysnomia -a "(__complete_dysnomia)"
`,
}

// Run implements the command.
func (c *CompletionCmd) Run(app *App) error {
	_, err := fmt.Fprint(app.Stdout, completionScripts[c.Shell])
	return err
}

// complete answers a shell's completion request (COMP_LINE in environ) and
// reports whether it did; the caller then exits 0.
func complete(parser *kong.Kong, environ []string) (done bool) {
	line, ok := lookupEnv(environ, "COMP_LINE")
	if !ok {
		return false
	}
	// posener/complete reads the request from the process environment.
	os.Setenv("COMP_LINE", line)
	if point, ok := lookupEnv(environ, "COMP_POINT"); ok {
		os.Setenv("COMP_POINT", point)
	}
	kongplete.Complete(parser, kongplete.WithExitFunc(func(int) { done = true }))
	return done
}
