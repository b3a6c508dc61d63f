package docker

// There is no Docker engine here: these tests run the module against a
// small stand-in docker that keeps containers and images as files and
// records every call. The NixOS VM test tests/nixos/docker-container.nix
// runs the module against a real engine.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/testutil/proctest"
)

const fakeDocker = `#!/bin/sh
echo "$*" >> "$FAKE_DOCKER/calls"
s="$FAKE_DOCKER"
case "$1" in
  load) [ "$2" = -i ] && [ -f "$3" ] || exit 1; cat "$3" > "$s/image-$(cat "$3" | tr : _)" ;;
  container) f="$s/container-$5"; [ -f "$f" ] || { echo "Error: No such container: $5" >&2; exit 1; }; cat "$f" ;;
  image) f="$s/image-$(echo "$5" | tr : _)"; [ -f "$f" ] || { echo "Error: No such image: $5" >&2; exit 1; }; echo sha256:x ;;
  create) shift; while [ "$1" != --name ]; do shift; done; [ -f "$s/image-$(echo "$3" | tr : _)" ] || exit 1; echo false > "$s/container-$2" ;;
  start) [ -f "$s/container-$2" ] || exit 1; [ -n "$FAKE_DOCKER_FAIL_START" ] && exit 1; echo true > "$s/container-$2" ;;
  stop) echo false > "$s/container-$4" ;;
  rm) rm "$s/container-$2" ;;
  rmi) rm "$s/image-$(echo "$2" | tr : _)" ;;
  *) exit 2 ;;
esac
`

func setup(t *testing.T, settings string) (f *proctest.Fixture, comp, state string) {
	t.Helper()
	bin := t.TempDir()
	state = t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fakeDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	comp = filepath.Join(t.TempDir(), "nginx")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(comp, "image.tar")
	if err := os.WriteFile(image, []byte("nginx:test"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(comp, "nginx-docker-settings"), []byte("dockerImage="+image+"\ndockerImageTag=nginx:test\n"+settings), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(comp, "nginx-docker-createparams"), []byte("-p\n8080:80\n--env\nGREETING=hello world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f = proctest.NewFixture(t, "docker-container")
	f.Env = append(f.Env, "PATH="+bin+":"+strings.TrimPrefix(f.Env[0], "PATH="), "FAKE_DOCKER="+state)
	return f, comp, state
}

func calls(t *testing.T, state string) []string {
	return proctest.Calls(t, filepath.Join(state, "calls"))
}

func TestStateless(t *testing.T) {
	f, comp, state := setup(t, "")
	f.MustRun(t, Module{}, module.Activate, comp)
	if diff := cmp.Diff([]string{
		"load -i " + filepath.Join(comp, "image.tar"),
		"container inspect --format {{.State.Running}} dysnomia-nginx",
		"create -p 8080:80 --env GREETING=hello world --name dysnomia-nginx nginx:test",
		"start dysnomia-nginx",
	}, calls(t, state)); diff != "" {
		t.Errorf("activate (-want +got):\n%s", diff)
	}
	if f.Active(t, comp) {
		t.Error("a stateless deployment is marked active (upstream writes no marker)")
	}
	f.MustRun(t, Module{}, module.Activate, comp) // exists: no second create
	for _, c := range calls(t, state) {
		if strings.HasPrefix(c, "create") {
			t.Errorf("second activate created the container again: %q", c)
		}
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
	got := calls(t, state)
	for _, want := range []string{"stop -t 1 dysnomia-nginx", "rm dysnomia-nginx", "rmi nginx:test"} {
		if !contains(got, want) {
			t.Errorf("deactivate calls %q lack %q", got, want)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(state, "container-*")); len(entries) != 0 {
		t.Errorf("containers left: %v", entries)
	}
}

func TestStatefulAndName(t *testing.T) {
	f, comp, state := setup(t, "dockerStatelessDeployment=0\ndockerContainerName=web\ndockerStopTimeout=7\n")
	f.MustRun(t, Module{}, module.Activate, comp)
	if !f.Active(t, comp) {
		t.Fatal("stateful deployment not marked active")
	}
	if _, err := os.Stat(filepath.Join(state, "container-web")); err != nil {
		t.Fatalf("dockerContainerName not honoured: %v", err)
	}
	f.MustRun(t, Module{}, module.Deactivate, comp)
	if !contains(calls(t, state), "stop -t 7 web") {
		t.Error("no stop -t 7 web")
	}
	if _, err := os.Stat(filepath.Join(state, "container-web")); err != nil {
		t.Fatalf("a stateful deactivate removed the container: %v", err)
	}
	f.MustRun(t, Module{}, module.CollectGarbage, comp)
	if _, err := os.Stat(filepath.Join(state, "container-web")); !os.IsNotExist(err) {
		t.Fatalf("collect-garbage kept the container: %v", err)
	}
	if g, _ := f.Store.IsGarbage(f.Request(module.Activate, comp).Key()); g {
		t.Error("still marked garbage")
	}
}

func TestStartFails(t *testing.T) {
	f, comp, state := setup(t, "")
	f.Env = append(f.Env, "FAKE_DOCKER_FAIL_START=1")
	if err := f.Run(Module{}, module.Activate, comp); err == nil || !strings.Contains(err.Error(), "docker start dysnomia-nginx") {
		t.Fatalf("error %v; want the failed start", err)
	}
	if _, err := os.Stat(filepath.Join(state, "container-dysnomia-nginx")); !os.IsNotExist(err) {
		t.Fatalf("the container this activation created was kept: %v", err)
	}
}

func TestBadSettings(t *testing.T) {
	f, comp, _ := setup(t, "dockerImageTag=--privileged\n")
	if err := f.Run(Module{}, module.Activate, comp); err == nil || !strings.Contains(err.Error(), "docker-settings") {
		t.Fatalf("error %v; want one naming the settings file", err)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
