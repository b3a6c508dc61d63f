package ejabberd

import (
	"context"
	"fmt"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/program"
	"github.com/dysnomia-go/dysnomia/internal/wait"
)

// run runs `ejabberdctl OPTIONS args…` as ejabberdUser (its own process
// group, killed whole when ctx ends) and returns its standard output. A
// failure's error carries what it printed.
func (s *settings) run(ctx context.Context, args ...string) (string, error) {
	argv := append(append([]string{}, s.ctlArgs...), args...)
	cmd := program.Command(ctx, s.env, s.user, s.ctl, argv...)
	cmd.KillGroup()
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return string(out), fmt.Errorf("ejabberdctl %s: %w: %s", args[0], err, truncate(msg, 2000))
		}
		return string(out), fmt.Errorf("ejabberdctl %s: %w", args[0], err)
	}
	return string(out), nil
}

// waitReady waits up to the timeout for `ejabberdctl status` to succeed;
// each attempt is bounded by what is left of it.
func (s *settings) waitReady(ctx context.Context, req *module.Request) error {
	probe := func(ctx context.Context) error {
		_, err := s.run(ctx, "status")
		return err
	}
	notice := func(err error) {
		req.Report.Infof("waiting up to %s for the ejabberd node", s.timeout)
	}
	if err := wait.Until(ctx, s.timeout, probe, notice); err != nil {
		return fmt.Errorf("ejabberd node: %w", err)
	}
	return nil
}

// vhosts lists the node's virtual hosts.
func (s *settings) vhosts(ctx context.Context) ([]string, error) {
	out, err := s.run(ctx, "registered_vhosts")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// deleteData deletes what ejabberd keeps in Mnesia for every virtual host
// (accounts, rosters, vCards, offline messages, last activity, private
// storage, privacy lists, MUC rooms, publish-subscribe nodes, …). With
// clear, the node's caches are cleared afterwards; a load that follows
// clears them anyway.
func (s *settings) deleteData(ctx context.Context, clear bool) error {
	hosts, err := s.vhosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if _, err := s.run(ctx, "delete_mnesia", h); err != nil {
			return err
		}
	}
	if !clear {
		return nil
	}
	return s.clearCache(ctx)
}

// clearCache empties the node's caches of database content (accounts and
// the like), which changes made straight in Mnesia bypass.
func (s *settings) clearCache(ctx context.Context) error {
	_, err := s.run(ctx, "clear_cache")
	return err
}
