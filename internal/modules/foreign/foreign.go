// Package foreign holds the module types that exist for other operating
// systems: launchd-daemon (macOS), bsdrc-script (FreeBSD), cygrunsrv-service
// (Cygwin on Windows), iis-webapplication (IIS on Windows) and
// mssql-database (SQL Server on Windows). They are known types, so a
// deployment that uses one gets an error naming the type and the system it
// needs, rather than "unknown module type". Every activity fails, lock and
// unlock included: a component of such a type cannot be served here. An
// executable of the type's name on DYSNOMIA_MODULES_PATH (upstream's
// module, on its system) is found first and runs instead.
package foreign

import (
	"context"
	"fmt"
	"runtime"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// Module is one such type.
type Module struct {
	Type   string // e.g. launchd-daemon
	System string // what it needs, e.g. "macOS and its launchd (launchctl)"
}

// Types lists them.
var Types = []Module{
	{Type: "launchd-daemon", System: "macOS and its service manager launchd (launchctl)"},
	{Type: "bsdrc-script", System: "FreeBSD and its rc system (/usr/local/etc/rc.d, rc.conf)"},
	{Type: "cygrunsrv-service", System: "Cygwin on Windows and its cygrunsrv service tool"},
	{Type: "iis-webapplication", System: "Windows with IIS and MSDeploy"},
	{Type: "mssql-database", System: "Windows with SQL Server (.\\SQLEXPRESS, sqlcmd)"},
}

// Run implements module.Module: it always fails.
func (m Module) Run(_ context.Context, req *module.Request) error {
	return fmt.Errorf("%s %s in %s: module type %s needs %s; this dysnomia runs on %s and has no %s module (put a module executable named %s on DYSNOMIA_MODULES_PATH to use one)",
		req.Activity, req.Component.Name, req.Container.Name, m.Type, m.System, runtime.GOOS, m.Type, m.Type)
}
