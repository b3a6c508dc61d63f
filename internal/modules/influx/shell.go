package influx

import (
	"fmt"
	"strconv"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellEnv implements module.ShellEnviron: INFLUX_HOST, INFLUX_PORT and
// INFLUX_DATABASE name the database.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := settingsOf(req)
	if err != nil {
		return nil, err
	}
	return []string{"INFLUX_HOST=" + s.host, "INFLUX_PORT=" + strconv.Itoa(s.httpPort), "INFLUX_DATABASE=" + req.Component.Name}, nil
}

func shellHelp(req *module.Request) error {
	_, err := fmt.Fprintf(req.Stderr, `InfluxDB database %[1]q (container %[2]s).
INFLUX_HOST, INFLUX_PORT and INFLUX_DATABASE name it:
  influx -host "$INFLUX_HOST" -port "$INFLUX_PORT" -database "$INFLUX_DATABASE"
A snapshot's dump.influx.zst loads by hand with:
  zstd -d dump.influx.zst && influx -host "$INFLUX_HOST" -port "$INFLUX_PORT" -import -path dump.influx -precision ns
`, req.Component.Name, req.Container.Name)
	return err
}
