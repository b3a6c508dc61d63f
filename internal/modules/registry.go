// Package modules assembles the registry of native modules.
package modules

import (
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/docker"
	"github.com/dysnomia-go/dysnomia/internal/modules/echo"
	"github.com/dysnomia-go/dysnomia/internal/modules/ejabberd"
	"github.com/dysnomia-go/dysnomia/internal/modules/fileset"
	"github.com/dysnomia-go/dysnomia/internal/modules/foreign"
	"github.com/dysnomia-go/dysnomia/internal/modules/influx"
	"github.com/dysnomia-go/dysnomia/internal/modules/managed"
	"github.com/dysnomia-go/dysnomia/internal/modules/mysql"
	"github.com/dysnomia-go/dysnomia/internal/modules/nixos"
	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql"
	"github.com/dysnomia-go/dysnomia/internal/modules/process"
	"github.com/dysnomia-go/dysnomia/internal/modules/s6rc"
	"github.com/dysnomia-go/dysnomia/internal/modules/sqlite"
	"github.com/dysnomia-go/dysnomia/internal/modules/subversion"
	"github.com/dysnomia-go/dysnomia/internal/modules/supervisord"
	"github.com/dysnomia-go/dysnomia/internal/modules/systemd"
	"github.com/dysnomia-go/dysnomia/internal/modules/sysvinit"
	"github.com/dysnomia-go/dysnomia/internal/modules/tomcat"
	"github.com/dysnomia-go/dysnomia/internal/modules/webapp"
	"github.com/dysnomia-go/dysnomia/internal/modules/wrapper"
	"github.com/dysnomia-go/dysnomia/internal/modules/xinetd"
)

// Registry returns a registry holding every native module, by type name.
func Registry() *module.Registry {
	r := module.NewRegistry()
	r.Add("apache-webapplication", webapp.Apache)
	r.Add("axis2-webservice", tomcat.Axis2Service)
	r.Add("docker-container", docker.Module{})
	r.Add("echo", echo.Module{})
	r.Add("ejabberd-dump", ejabberd.Module{})
	r.Add("fileset", fileset.Module{})
	r.Add("generic-webapplication", webapp.Generic)
	r.Add("influx-database", influx.Module{})
	r.Add("mysql-database", mysql.Module{})
	r.Add("nginx-webapplication", webapp.Nginx)
	r.Add("nixos-configuration", nixos.Module{})
	r.Add("postgresql-database", postgresql.Module{})
	r.Add("process", process.Module{})
	r.Add("s6-rc-service", s6rc.Module{})
	r.Add("sqlite-database", sqlite.Module{})
	r.Add("supervisord-program", supervisord.Module{})
	r.Add("sysvinit-script", sysvinit.Module{})
	r.Add("systemd-unit", systemd.Module{})
	r.Add("tomcat-webapplication", tomcat.WebApplication)
	r.Add("subversion-repository", subversion.Module{})
	r.Add("wrapper", wrapper.Module{})
	r.Add("xinetd-service", xinetd.Module{})
	r.Add("managed-process", managed.Module{Registry: r})
	for _, m := range foreign.Types {
		r.Add(m.Type, m)
	}
	return r
}
