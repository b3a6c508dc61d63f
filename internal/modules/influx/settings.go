package influx

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

// Defaults of the properties.
const (
	DefaultHost     = "localhost"
	DefaultHTTPPort = 8086
	DefaultRPCPort  = 8088
	DefaultUser     = "influxdb"
	DefaultTimeout  = 10 // seconds, as upstream
)

// settings are a request's properties, checked.
type settings struct {
	host     string
	httpPort int
	rpcPort  int
	user     string
	password string // from influxdbPasswordFile; "" without authentication
	timeout  time.Duration
	env      []string
}

// settingsOf reads and checks the container properties of req and the
// component name. Every error names the property.
func settingsOf(req *module.Request) (*settings, error) {
	name := req.Component.Name
	if err := store.ValidSegment(name); err != nil {
		return nil, fmt.Errorf("component name: %w", err)
	}
	if strings.ContainsAny(name, "\n\r") {
		return nil, fmt.Errorf("component name %q: a database name has no line breaks", name)
	}
	s := &settings{
		host: req.Property("influxdbHost", DefaultHost),
		user: req.Property("influxdbUsername", DefaultUser),
		env:  req.Env,
	}
	bad := func(key, why string) error {
		return fmt.Errorf("container %s: property %s=%q: %s", req.Container.Name, key, req.Property(key, ""), why)
	}
	var err error
	if s.httpPort, err = intProperty(req, "influxdbHttpPort", DefaultHTTPPort, 1, 65535); err != nil {
		return nil, bad("influxdbHttpPort", err.Error())
	}
	if s.rpcPort, err = intProperty(req, "influxdbPort", DefaultRPCPort, 1, 65535); err != nil {
		return nil, bad("influxdbPort", err.Error())
	}
	secs, err := intProperty(req, "timeout", DefaultTimeout, 1, 24*3600)
	if err != nil {
		return nil, bad("timeout", err.Error())
	}
	s.timeout = time.Duration(secs) * time.Second
	if strings.ContainsAny(s.host, "/ \t\n@?#") {
		return nil, bad("influxdbHost", "want a host name or address")
	}
	if file := req.Property("influxdbPasswordFile", ""); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("container %s: property influxdbPasswordFile: %w", req.Container.Name, err)
		}
		s.password = strings.TrimRight(string(data), "\r\n")
		if s.password == "" || strings.ContainsAny(s.password, "\x00\n") {
			return nil, fmt.Errorf("container %s: property influxdbPasswordFile: %s must hold one line with the password", req.Container.Name, file)
		}
	}
	return s, nil
}

func intProperty(req *module.Request, key string, def, min, max int) (int, error) {
	v := req.Property(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("want an integer from %d to %d", min, max)
	}
	return n, nil
}

// baseURL is the HTTP API's URL.
func (s *settings) baseURL() string {
	return "http://" + net.JoinHostPort(s.host, strconv.Itoa(s.httpPort))
}

// rpcAddr is the address of the backup and restore service.
func (s *settings) rpcAddr() string {
	return net.JoinHostPort(s.host, strconv.Itoa(s.rpcPort))
}
