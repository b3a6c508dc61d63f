package foreign

import (
	"context"
	"strings"
	"testing"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

func TestEveryActivityFails(t *testing.T) {
	for _, m := range Types {
		for _, act := range module.Activities {
			req := &module.Request{Activity: act, Component: module.Component{Name: "svc", Path: "/x/svc"}, Container: module.Container{Name: m.Type, Type: m.Type}}
			err := m.Run(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), m.Type) || !strings.Contains(err.Error(), m.System) {
				t.Errorf("%s %s: error %v; want one naming the type and %q", m.Type, act, err, m.System)
			}
		}
	}
}
