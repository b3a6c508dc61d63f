// Package modules assembles the registry of native modules.
package modules

import (
	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/echo"
	"github.com/dysnomia-go/dysnomia/internal/modules/ejabberd"
	"github.com/dysnomia-go/dysnomia/internal/modules/fileset"
	"github.com/dysnomia-go/dysnomia/internal/modules/influx"
	"github.com/dysnomia-go/dysnomia/internal/modules/mysql"
	"github.com/dysnomia-go/dysnomia/internal/modules/postgresql"
	"github.com/dysnomia-go/dysnomia/internal/modules/sqlite"
	"github.com/dysnomia-go/dysnomia/internal/modules/subversion"
	"github.com/dysnomia-go/dysnomia/internal/modules/wrapper"
)

// Registry returns a registry holding every native module, by type name.
func Registry() *module.Registry {
	r := module.NewRegistry()
	r.Add("echo", echo.Module{})
	r.Add("ejabberd-dump", ejabberd.Module{})
	r.Add("fileset", fileset.Module{})
	r.Add("influx-database", influx.Module{})
	r.Add("mysql-database", mysql.Module{})
	r.Add("postgresql-database", postgresql.Module{})
	r.Add("sqlite-database", sqlite.Module{})
	r.Add("subversion-repository", subversion.Module{})
	r.Add("wrapper", wrapper.Module{})
	return r
}
