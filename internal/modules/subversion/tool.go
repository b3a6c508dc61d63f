package subversion

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/program"
)

// svnadmin runs svnadmin with args, stdin from in (nil: none) and stdout to
// out (nil: discarded).
func (s *settings) svnadmin(ctx context.Context, in io.Reader, out io.Writer, args ...string) error {
	path, err := s.tool("svnadmin")
	if err != nil {
		return err
	}
	cmd := program.Command(ctx, s.env, nil, path, args...)
	cmd.Stdin, cmd.Stdout = in, out
	return cmd.Run()
}

// create makes an empty repository at dir.
func (s *settings) create(ctx context.Context, dir string) error {
	return s.svnadmin(ctx, nil, nil, "create", "--", dir)
}

// youngest is the repository's youngest revision number.
func (s *settings) youngest(ctx context.Context, repo string) (int, error) {
	path, err := s.tool("svnlook")
	if err != nil {
		return 0, err
	}
	out, err := program.Command(ctx, s.env, nil, path, "youngest", "--", repo).Output()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("svnlook youngest %s printed %q, not a revision number", repo, out)
	}
	return n, nil
}
