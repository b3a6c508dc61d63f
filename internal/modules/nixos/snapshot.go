package nixos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dysnomia-go/dysnomia/internal/module"
	"github.com/dysnomia-go/dysnomia/internal/modules/service"
	"github.com/dysnomia-go/dysnomia/internal/store"
)

func snapshot(ctx context.Context, req *module.Request, s *settings) error {
	if err := s.inner(ctx, req, "containers", "snapshot"); err != nil {
		return err
	}
	out, err := s.innerOutput(ctx, req, "snapshots", "latest")
	if err != nil {
		return err
	}
	rels := strings.Fields(string(out))
	for _, rel := range rels {
		if _, err := store.ParseRel(rel); err != nil {
			return fmt.Errorf("inner snapshots latest printed %q: %w", rel, err)
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(rels, " ") + "\n"))
	id := hex.EncodeToString(sum[:])

	work, err := os.MkdirTemp("", "dysnomia-nixos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, rel := range rels {
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyTree(ctx, req, filepath.Join(s.Inner, "snapshots", rel), dst, s.Hardlink); err != nil {
			return err
		}
	}
	added, err := req.Store.Add(ctx, req.Key(), dir)
	if err != nil {
		return err
	}
	if added.NewGeneration {
		service.Report(req).Infof("snapshot %s: generation %d", added.Rel(), added.Generation)
	} else {
		service.Report(req).Infof("snapshot %s: unchanged, still generation %d", added.Rel(), added.Generation)
	}
	return nil
}

// copyTree copies src to dst (which must not exist) with cp, hard-linking
// files when link is set.
func copyTree(ctx context.Context, req *module.Request, src, dst string, link bool) error {
	flag := "-a"
	if link {
		flag = "-al"
	}
	cp := exec.CommandContext(ctx, "cp", flag, "--", src, dst)
	cp.Env = req.Env
	if out, err := cp.CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s to %s: %v: %s", src, dst, err, strings.TrimSpace(string(out)))
	}
	return nil
}
