package ejabberd

import (
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellEnv implements module.ShellEnviron: EJABBERDCTL is the command line
// that reaches the node (run it as EJABBERD_USER).
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := settingsOf(req)
	if err != nil {
		return nil, err
	}
	return []string{"EJABBERDCTL=" + strings.Join(append([]string{s.ctl}, s.ctlArgs...), " "), "EJABBERD_USER=" + s.user.Name}, nil
}

func shellHelp(req *module.Request) error {
	_, err := fmt.Fprintf(req.Stderr, `ejabberd node of component %[1]q (container %[2]s).
EJABBERDCTL is the ejabberdctl command line for it, EJABBERD_USER its user:
  runuser -u "$EJABBERD_USER" -- $EJABBERDCTL status
  runuser -u "$EJABBERD_USER" -- $EJABBERDCTL registered_users HOST
`, req.Component.Name, req.Container.Name)
	return err
}
