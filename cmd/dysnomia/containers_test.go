package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/testutil/nobody"
)

// containersWorld is a world with two containers directories, two
// components directories and a recorder container.
type containersWorld struct {
	*world
	containers2, components2 string
}

func newContainersWorld(t *testing.T) *containersWorld {
	t.Helper()
	w := &containersWorld{world: newWorld(t)}
	w.containers2 = filepath.Join(w.root, "containers2")
	w.components2 = filepath.Join(w.root, "components2")
	writeFile(t, filepath.Join(w.containers, "echo"), "type=echo\ngreeting=\"hello world\"\n", 0o644)
	writeFile(t, filepath.Join(w.containers, "rec"), "type=recorder\n", 0o644)
	// Shadowed by the first directory, and a container only in the second.
	writeFile(t, filepath.Join(w.containers2, "echo"), "type=recorder\n", 0o644)
	writeFile(t, filepath.Join(w.containers2, "other"), "type=echo\n", 0o644)
	for _, c := range []string{"echo/a", "echo/b", "rec/x"} {
		mkdir(t, filepath.Join(w.components, c))
	}
	mkdir(t, filepath.Join(w.components2, "echo", "a")) // shadowed
	mkdir(t, filepath.Join(w.components2, "other", "o"))
	return w
}

func (w *containersWorld) env(extra ...string) []string {
	return append(w.environ(
		"DYSNOMIA_CONTAINERS_PATH="+w.containers+":"+w.containers2,
		"DYSNOMIA_COMPONENTS_PATH="+w.components+":"+w.components2,
	), extra...)
}

func (w *containersWorld) run(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := runCLI(t, "dysnomia", w.env(), args...)
	if code != 0 {
		t.Fatalf("dysnomia %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func TestContainersQueries(t *testing.T) {
	w := newContainersWorld(t)
	out, _ := w.run(t, "containers", "list")
	if d := cmp.Diff("echo\nother\nrec\n", out); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}
	out, _ = w.run(t, "containers", "list", "--json")
	var list containersJSON
	decodeStrict(t, out, &list)
	if d := cmp.Diff(containersJSON{Version: 1, Containers: []containerJSON{
		{"echo", filepath.Join(w.containers, "echo")},
		{"other", filepath.Join(w.containers2, "other")},
		{"rec", filepath.Join(w.containers, "rec")},
	}}, list); d != "" {
		t.Errorf("list --json (-want +got):\n%s", d)
	}

	out, _ = w.run(t, "containers", "available")
	if d := cmp.Diff("echo/a\necho/b\nother/o\nrec/x\n", out); d != "" {
		t.Errorf("available (-want +got):\n%s", d)
	}
	out, _ = w.run(t, "containers", "available", "-C", "other", "--json")
	var avail componentsJSON
	decodeStrict(t, out, &avail)
	o := filepath.Join(w.components2, "other", "o")
	if d := cmp.Diff(componentsJSON{Version: 1, Components: []componentJSON{{Container: "other", Component: "o", Entry: o, Path: o}}}, avail); d != "" {
		t.Errorf("available --json (-want +got):\n%s", d)
	}

	out, _ = w.run(t, "containers", "activated")
	if out != "" {
		t.Errorf("activated before deploy: %q", out)
	}
	w.run(t, "containers", "deploy")
	out, _ = w.run(t, "containers", "activated", "--container", "echo", "--json")
	var act componentsJSON
	decodeStrict(t, out, &act)
	want := componentsJSON{Version: 1, Components: []componentJSON{
		{Container: "echo", Component: "a", Path: filepath.Join(w.components, "echo", "a"), Type: "echo"},
		{Container: "echo", Component: "b", Path: filepath.Join(w.components, "echo", "b"), Type: "echo"},
	}}
	if d := cmp.Diff(want, act); d != "" {
		t.Errorf("activated --json (-want +got):\n%s", d)
	}
	// The upstream spellings give the same answers.
	out, _, code := runCLI(t, "dysnomia-containers", w.env(), "--query-activated-components")
	if code != 0 || out != "echo/a\necho/b\nother/o\nrec/x\n" {
		t.Errorf("--query-activated-components: exit %d, %q", code, out)
	}
	out, errOut, code := runCLI(t, "dysnomia", w.env(), "containers", "available", "-C", "../x")
	if code != 1 || out != "" || !strings.Contains(errOut, "--container takes a container name") {
		t.Errorf("bad --container: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestContainersDryRun: the plan is printed sorted, and nothing changes.
func TestContainersDryRun(t *testing.T) {
	w := newContainersWorld(t)
	w.run(t, "containers", "deploy", "-C", "echo")
	// Remove one, change one, add one.
	if err := os.RemoveAll(filepath.Join(w.components, "echo", "b")); err != nil {
		t.Fatal(err)
	}
	mkdir(t, filepath.Join(w.root, "v2", "a"))
	if err := os.RemoveAll(filepath.Join(w.components, "echo", "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(w.root, "v2", "a"), filepath.Join(w.components, "echo", "a")); err != nil {
		t.Fatal(err)
	}
	mkdir(t, filepath.Join(w.components, "echo", "c"))
	before := markerFiles(t, w.state)
	out, errOut := w.run(t, "containers", "deploy", "--dry-run")
	c := w.components
	want := "" +
		"deactivate  echo/b   " + c + "/echo/b  removed\n" +
		"activate    echo/a   " + w.root + "/v2/a     changed (was " + c + "/echo/a)\n" +
		"activate    echo/c   " + c + "/echo/c  new\n" +
		"activate    other/o  " + w.components2 + "/other/o  new\n" +
		"activate    rec/x    " + c + "/rec/x  new\n"
	want = alignLikeTabwriter(want)
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("dry run (-want +got):\n%s", d)
	}
	if !strings.Contains(errOut, "dry run: would activate 4, deactivate 1; 0 unchanged") {
		t.Errorf("stderr: %s", errOut)
	}
	if d := cmp.Diff(before, markerFiles(t, w.state)); d != "" {
		t.Errorf("dry run changed the markers (-before +after):\n%s", d)
	}
	if _, err := os.Stat(w.record); err == nil {
		t.Error("dry run ran the recorder module")
	}
	out2, _ := w.run(t, "containers", "deploy", "--dry-run")
	if out2 != out {
		t.Errorf("second dry run differs:\n%s\nvs\n%s", out, out2)
	}

	out, _ = w.run(t, "containers", "deploy", "--dry-run", "--json")
	var plan deployJSON
	decodeStrict(t, out, &plan)
	steps := plan.Steps
	if plan.Version != 1 || !plan.DryRun || len(steps) != 5 || steps[0].Activity != "deactivate" || steps[1].Reason != "changed" || steps[1].OldPath != c+"/echo/a" || steps[0].Done {
		t.Errorf("json plan: %+v", plan)
	}
}

// alignLikeTabwriter re-aligns space-separated columns the way the plan
// is printed (two spaces after the widest cell), so the test does not
// depend on the temp dir's length.
func alignLikeTabwriter(s string) string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var cells []string
		for _, f := range strings.Split(line, "  ") {
			if f = strings.TrimSpace(f); f != "" {
				cells = append(cells, f)
			}
		}
		rows = append(rows, cells)
	}
	width := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len(c)+2))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func markerFiles(t *testing.T, state string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []string{"activated", "garbage"} {
		filepath.Walk(filepath.Join(state, kind), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				out[strings.TrimPrefix(p, state)] = string(data)
			}
			return nil
		})
	}
	return out
}

// TestContainersDeployFailure: the failing component is named, the others
// are deployed, and the module's status is the exit status.
func TestContainersDeployFailure(t *testing.T) {
	w := newContainersWorld(t)
	writeFile(t, filepath.Join(w.containers, "rec"), "type=recorder\nexitWith=7\n", 0o644)
	out, errOut, code := runCLI(t, "dysnomia", w.env(), "containers", "deploy")
	if code != 7 {
		t.Errorf("exit %d, want the module's 7\nstderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "dysnomia: warning: activate rec/x failed: ") || !strings.Contains(errOut, "dysnomia: error: 1 of 4 steps failed: activate rec/x\n") {
		t.Errorf("stderr does not name the failure:\n%s", errOut)
	}
	for _, c := range []string{"echo/a", "echo/b", "other/o"} {
		if !strings.Contains(out, "Echo module: Activate service: ") || !strings.Contains(errOut, "activate "+c+" ") {
			t.Errorf("%s not deployed:\nstdout:\n%s\nstderr:\n%s", c, out, errOut)
		}
	}
	out, _ = w.run(t, "containers", "activated")
	if d := cmp.Diff("echo/a\necho/b\nother/o\n", out); d != "" {
		t.Errorf("activated (-want +got):\n%s", d)
	}
}

func TestContainersRunErrors(t *testing.T) {
	w := newContainersWorld(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"containers", "run", "-o", "shell"}, "the shell activity is interactive"},
		{[]string{"containers", "run", "-o", "dance"}, `unknown activity "dance"`},
	} {
		out, errOut, code := runCLI(t, "dysnomia", w.env(), tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, code, out, errOut, tc.msg)
		}
	}
}

// TestContainersRestoreConfirmation: without a terminal and without --yes
// nothing is restored.
func TestContainersRestoreConfirmation(t *testing.T) {
	w := newContainersWorld(t)
	w.run(t, "containers", "deploy", "-C", "echo")
	out, errOut, code := runCLI(t, "dysnomia", w.env(), "containers", "restore")
	if code != 1 || strings.Contains(out, "Restore state") || !strings.Contains(errOut, "standard input is not a terminal: pass --yes") {
		t.Errorf("restore without --yes: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, _ = w.run(t, "containers", "restore", "--yes")
	for _, c := range []string{"a", "b"} {
		if !strings.Contains(out, "Echo module: Restore state of service: "+filepath.Join(w.components, "echo", c)+"\n") {
			t.Errorf("echo/%s not restored:\n%s", c, out)
		}
	}
	out, _, code = runCLI(t, "dysnomia-containers", w.env(), "--restore", "-y", "-C", "echo")
	if code != 0 || strings.Count(out, "Restore state of") != 2 {
		t.Errorf("--restore -y: exit %d\n%s", code, out)
	}
}

func TestConfirmRestore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"y\n", true}, {"yes\n", true}, {" Y \n", true}, {"n\n", false}, {"\n", false}, {"", false}, {"yep\n", false}} {
		var prompt strings.Builder
		got, err := confirmRestore(strings.NewReader(tc.in), &prompt, nil)
		if err != nil || got != tc.want {
			t.Errorf("answer %q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if !strings.HasSuffix(strings.TrimSuffix(prompt.String(), "\n"), "Are you sure you want to proceed? [n] ") {
			t.Errorf("prompt: %q", prompt.String())
		}
	}
}

// TestGenerateExprShellValues: upstream's properties file holds $(…); by
// default it is evaluated in a file only root (or the caller) can change,
// and refused, naming the file and line, in any other; it is kept
// literally on request.
func TestGenerateExprShellValues(t *testing.T) {
	w := newContainersWorld(t)
	props := filepath.Join(w.root, "properties")
	writeFile(t, props, "hostname=\"machine\"\nmem=\"$(grep 'MemTotal:' /proc/meminfo | wc -l)\"\nsupportedTypes=(\"echo\" \"fileset\" )\nsystem=\"x86_64-linux\"\n", 0o644)
	env := w.env("DYSNOMIA_PROPERTIES=" + props)
	out, errOut, code := runCLI(t, "dysnomia", env, "containers", "generate-expr")
	if code != 0 || !strings.Contains(out, "    mem = \"1\";\n") {
		t.Errorf("default mode, trusted file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// A container file is evaluated by the same rule.
	cont := filepath.Join(w.containers, "evaluated")
	writeFile(t, cont, "type=echo\nhome=\"$(echo /srv)/data\"\n", 0o644)
	out, errOut, code = runCLI(t, "dysnomia", env, "containers", "generate-expr")
	if code != 0 || !strings.Contains(out, "    evaluated = {\n      home = \"/srv/data\";\n    };\n") {
		t.Errorf("container file with shell code: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if err := os.Remove(cont); err != nil {
		t.Fatal(err)
	}
	nobody.Chown(t, props)
	for _, args := range [][]string{{"containers", "generate-expr"}, {"--shell-values=trusted", "containers", "generate-expr"}} {
		out, errOut, code = runCLI(t, "dysnomia", env, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, props+":2: the value of \"mem\" needs shell evaluation") || !strings.Contains(errOut, "belongs to uid") {
			t.Errorf("%v, nobody's file: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
	out, errOut, code = runCLI(t, "dysnomia", env, "--shell-values=literal", "containers", "generate-expr")
	if code != 0 {
		t.Fatalf("literal mode: exit %d: %s", code, errOut)
	}
	want := `{
  properties = {
    hostname = "machine";
    mem = "$(grep 'MemTotal:' /proc/meminfo | wc -l)";
    supportedTypes = [ "echo" "fileset" ];
    system = "x86_64-linux";
  };
  containers = {
    echo = {
      greeting = "hello world";
    };
    other = { };
    "rec" = { };
  };
  system = "x86_64-linux";
}
`
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("expression (-want +got):\n%s", d)
	}
	// Without a properties file there is no properties block.
	out, _, code = runCLI(t, "dysnomia", w.env("DYSNOMIA_PROPERTIES="+filepath.Join(w.root, "none")), "containers", "generate-expr")
	if code != 0 || strings.Contains(out, "properties") || strings.Contains(out, "system") {
		t.Errorf("no properties file: exit %d\n%s", code, out)
	}
	// A broken container file is named; nothing is printed.
	writeFile(t, filepath.Join(w.containers, "broken"), "type=echo\nk = v\n", 0o644)
	out, errOut, code = runCLI(t, "dysnomia", w.env(), "containers", "generate-expr")
	if code != 1 || out != "" || !strings.Contains(errOut, filepath.Join(w.containers, "broken")+":2:") {
		t.Errorf("broken container: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestGenerateDotParses renders containers and components with awkward
// names and checks with the real dot that the graph parses into the
// expected clusters and labels.
func TestGenerateDotParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dot is required under CI (Debian package graphviz): %v", err)
		}
		t.Skipf("dot not installed (Debian package graphviz): %v", err)
	}
	w := newWorld(t)
	names := []string{"postgresql-database", "my.container", `quote"and\back`, "space name", "é-ü", "1digit", "back\\"}
	for _, n := range names {
		writeFile(t, filepath.Join(w.containers, n), "type=echo\n", 0o644)
		for _, comp := range []string{"db-" + n, `x"y\N`} {
			mkdir(t, filepath.Join(w.components, n, comp))
		}
	}
	out, errOut, code := runCLI(t, "dysnomia", w.environ(), "containers", "generate-dot")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cmd := exec.Command(dot, "-Tjson")
	cmd.Stdin = strings.NewReader(out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("dot rejects the graph: %v\n%s\n%s", err, stderr.String(), out)
	}
	var g struct {
		Objects []struct {
			Name  string `json:"name"`
			Nodes []int  `json:"nodes"`
			Draw  []struct {
				Op   string `json:"op"`
				Text string `json:"text"`
			} `json:"_ldraw_"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(js, &g); err != nil {
		t.Fatal(err)
	}
	clusters := map[string]int{}
	nodeLabels := map[string]bool{}
	for _, o := range g.Objects {
		// The label as dot draws it: the text of the label's draw op.
		var label string
		for _, d := range o.Draw {
			if d.Op == "T" {
				label = d.Text
			}
		}
		if strings.HasPrefix(o.Name, "cluster_") {
			clusters[label] = len(o.Nodes)
		} else {
			nodeLabels[label] = true
		}
	}
	for _, n := range names {
		if clusters[n] != 2 {
			t.Errorf("cluster %q: %d nodes (clusters: %v)", n, clusters[n], clusters)
		}
		if !nodeLabels["db-"+n] {
			t.Errorf("no node labelled %q", "db-"+n)
		}
	}
	if !nodeLabels[`x"y\N`] {
		t.Errorf("node label with quote and backslash lost: %v", nodeLabels)
	}
	if len(clusters) != len(names) {
		t.Errorf("%d clusters, want %d: %v", len(clusters), len(names), clusters)
	}
}
