package subversion

import (
	"fmt"
	"net/url"

	"github.com/dysnomia-go/dysnomia/internal/module"
)

// ShellEnv implements module.ShellEnviron: SVN_REPOSITORY is the
// repository's path and SVN_URL its file:// URL.
func (Module) ShellEnv(req *module.Request) ([]string, error) {
	s, err := settingsOf(req)
	if err != nil {
		return nil, err
	}
	return []string{"SVN_REPOSITORY=" + s.repo, "SVN_URL=" + fileURL(s.repo)}, nil
}

// fileURL is the file:// URL of a local path.
func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

func shellHelp(req *module.Request) error {
	_, err := fmt.Fprintf(req.Stderr, `Subversion repository %[1]q (container %[2]s).
SVN_REPOSITORY is its path and SVN_URL its file:// URL:
  svnlook youngest "$SVN_REPOSITORY"
  svn log "$SVN_URL"
  svnadmin dump "$SVN_REPOSITORY" > %[1]s.svndump
`, req.Component.Name, req.Container.Name)
	return err
}
