// Package docker is the docker-container module: a container created from
// an image tarball the component carries, run by the local Docker engine.
//
// # Component
//
//	*-docker-settings      key=value settings (the first such file):
//	                         dockerImage                the image tarball (docker load -i)
//	                         dockerImageTag             the image's name:tag (required)
//	                         dockerContainerName        default dysnomia-<component>
//	                         dockerStopTimeout          seconds for docker stop -t; default 1
//	                         dockerStatelessDeployment  default 1; 0 keeps the container
//	                                                    (its state) until collect-garbage
//	*-docker-createparams  extra docker create arguments, one a line
//
// # Activities
//
// activate loads the image (when dockerImage is set), creates the container
// if none of that exact name exists, and starts it. A container that this
// activation created and could not start is removed again. A stateful
// deployment (dockerStatelessDeployment=0) is marked active; a stateless
// one writes no marker, as upstream. deactivate stops a running container
// (docker stop -t); a stateless deployment then removes the container and
// the image, a stateful one is marked as garbage. collect-garbage removes
// the container and the image of a component marked as garbage. docker runs
// with the module's environment (DOCKER_HOST and the like pass through), as
// an argument vector. Unlike upstream, dockerContainerName is honoured, and
// containers and images are found by exact name (docker inspect), not by a
// filter.
package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/config"
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
)

// Module implements module.Module.
type Module struct{}

type settings struct {
	Image, Tag, Name string
	StopTimeout      string // seconds, as docker stop -t takes them
	Stateless        bool
	CreateParams     []string
}

func loadSettings(req *module.Request) (*settings, error) {
	files, err := filepath.Glob(filepath.Join(req.Component.Path, "*-docker-settings"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no *-docker-settings file", req.Component.Path)
	}
	props, err := config.ParseFile(files[0], config.ShellReject)
	if err != nil {
		return nil, err
	}
	get := func(k, def string) string {
		if v := props.Lookup(k); v != "" {
			return v
		}
		return def
	}
	s := &settings{
		Image:       get("dockerImage", ""),
		Tag:         get("dockerImageTag", ""),
		Name:        get("dockerContainerName", "dysnomia-"+req.Component.Name),
		StopTimeout: get("dockerStopTimeout", "1"),
		Stateless:   get("dockerStatelessDeployment", "1") == "1",
	}
	if s.Tag == "" {
		return nil, fmt.Errorf("%s: dockerImageTag is not set", files[0])
	}
	for _, v := range []string{s.Tag, s.Name} {
		if strings.HasPrefix(v, "-") || strings.ContainsAny(v, " \t\n") {
			return nil, fmt.Errorf("%s: %q is not a docker name", files[0], v)
		}
	}
	if _, err := fmt.Sscanf(s.StopTimeout, "%d", new(int)); err != nil {
		return nil, fmt.Errorf("%s: dockerStopTimeout=%q is not a number of seconds", files[0], s.StopTimeout)
	}
	params, err := filepath.Glob(filepath.Join(req.Component.Path, "*-docker-createparams"))
	if err != nil {
		return nil, err
	}
	if len(params) > 0 {
		data, err := os.ReadFile(params[0])
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				s.CreateParams = append(s.CreateParams, l)
			}
		}
	}
	return s, nil
}

// Run implements module.Module.
func (Module) Run(ctx context.Context, req *module.Request) error {
	switch req.Activity {
	case module.Activate, module.Deactivate, module.CollectGarbage, module.Shell:
	default:
		return nil
	}
	s, err := loadSettings(req)
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	e := &engine{req: req}
	switch req.Activity {
	case module.Activate:
		err = activate(ctx, req, e, s)
	case module.Deactivate:
		err = deactivate(ctx, req, e, s)
	case module.CollectGarbage:
		err = collectGarbage(ctx, req, e, s)
	case module.Shell:
		service.Help(req, "Docker container "+s.Name+" of "+req.Component.Name+":",
			"  docker ps -a -f name="+s.Name+"   # its status",
			"  docker start|stop|logs "+s.Name,
			"  docker exec -it "+s.Name+" /bin/sh")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s in %s: %w", req.Activity, req.Component.Name, req.Container.Name, err)
	}
	return nil
}
