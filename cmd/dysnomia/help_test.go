package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dysnomia help COMMAND is COMMAND --help; bare dysnomia shows what it can
// do instead of an error; defaults are shown in the help.
func TestHelp(t *testing.T) {
	env := []string{"HOME=" + t.TempDir()}
	want, _, code := runCLI(t, "dysnomia", env, "snapshots", "gc", "--help")
	if code != 0 {
		t.Fatalf("snapshots gc --help: exit %d", code)
	}
	got, _, code := runCLI(t, "dysnomia", env, "help", "snapshots", "gc")
	if code != 0 || got != want {
		t.Errorf("help snapshots gc: exit %d, output differs from snapshots gc --help:\n%s", code, cmp.Diff(want, got))
	}
	for _, flag := range []string{"--keep=N", "(default: 1)", "--dry-run"} {
		if !strings.Contains(want, flag) {
			t.Errorf("snapshots gc --help does not show %q:\n%s", flag, want)
		}
	}
	if out, _, _ := runCLI(t, "dysnomia", env, "help"); !strings.Contains(out, "--lock-timeout=DURATION") || !strings.Contains(out, "(default: 5m)") {
		t.Errorf("help does not show --lock-timeout's default:\n%s", out)
	}
	bare, errs, code := runCLI(t, "dysnomia", env)
	if code != 0 || !strings.HasPrefix(bare, "Usage: dysnomia <command>") || errs != "" {
		t.Errorf("bare dysnomia: exit %d, stdout %.60q, stderr %q", code, bare, errs)
	}
	if _, errs, code := runCLI(t, "dysnomia", env, "help", "nosuchcommand"); code != 1 || !strings.Contains(errs, "nosuchcommand") {
		t.Errorf("help of an unknown command: exit %d, %q", code, errs)
	}
}

// The shell asks the binary to complete (COMP_LINE); the answers come from
// the command grammar.
func TestCompletion(t *testing.T) {
	env := []string{"HOME=" + t.TempDir()}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"dysnomia snap", []string{"snapshot", "snapshots"}},
		{"dysnomia snapshots g", []string{"gc"}},
		{"dysnomia snapshots gc --k", []string{"--keep"}},
		{"dysnomia completion ", []string{"bash", "fish", "zsh"}},
		{"dysnomia containers gen", []string{"generate-dot", "generate-expr"}},
	} {
		out, _, code := runCLI(t, "dysnomia", append(env, "COMP_LINE="+tc.line))
		got := strings.Fields(out)
		if code != 0 || !cmp.Equal(sortedCopy(got), tc.want) {
			t.Errorf("COMP_LINE=%q: exit %d, completions %q, want %q", tc.line, code, got, tc.want)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, code := runCLI(t, "dysnomia", env, "completion", shell)
		if code != 0 || !strings.Contains(out, "dysnomia") {
			t.Errorf("completion %s: exit %d, %q", shell, code, out)
		}
	}
	// bash takes the script as it is.
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, _, _ := runCLI(t, "dysnomia", env, "completion", "bash")
	out, err := exec.Command(bash, "-c", script+"complete -p dysnomia").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "complete -C 'dysnomia' dysnomia" && strings.TrimSpace(string(out)) != "complete -C dysnomia dysnomia" {
		t.Errorf("bash: %v: %q", err, out)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// The manual page is valid roff that groff renders without a warning,
// names every command, and is the same for the same SOURCE_DATE_EPOCH.
func TestManPage(t *testing.T) {
	env := []string{"HOME=" + t.TempDir(), "SOURCE_DATE_EPOCH=1700000000"}
	page, _, code := runCLI(t, "dysnomia", env, "man")
	if code != 0 || !strings.HasPrefix(page, `.TH DYSNOMIA 1 "2023-11-14"`) {
		t.Fatalf("man: exit %d, %.80q", code, page)
	}
	again, _, _ := runCLI(t, "dysnomia", env, "man")
	if again != page {
		t.Error("two man pages for the same SOURCE_DATE_EPOCH differ")
	}
	for _, cmd := range []string{"activate", "snapshots gc", "snapshots export", "containers deploy", "system pre-switch", "completion"} {
		if !strings.Contains(page, cmd) {
			t.Errorf("the man page does not describe %q", cmd)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("groff is not installed")
		}
		t.Skip("groff is not installed")
	}
	cmd := exec.Command(groff, "-k", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}
