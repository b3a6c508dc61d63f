package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Supervisord is a throwaway supervisord with its own configuration, Unix
// socket and include directory.
type Supervisord struct {
	ConfFile string // pass as supervisorctl -c
	ConfDir  string // the [include] directory: the module's supervisordTargetDir
	Socket   string
	cmd      *exec.Cmd
}

// StartSupervisord starts supervisord in the foreground in a temp dir and
// stops it when the test ends (see Require for a missing supervisord).
func StartSupervisord(tb testing.TB) *Supervisord {
	tb.Helper()
	bin := LookPath(tb, "supervisord")
	dir := tb.TempDir()
	s := &Supervisord{
		ConfFile: filepath.Join(dir, "supervisord.conf"),
		ConfDir:  filepath.Join(dir, "conf.d"),
		Socket:   filepath.Join(dir, "supervisor.sock"),
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user=root\n"
	}
	conf := fmt.Sprintf(`[unix_http_server]
file=%[1]s/supervisor.sock

[supervisord]
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
%[2]s
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock

[include]
files = %[1]s/conf.d/*.conf
`, dir, user)
	if err := os.WriteFile(s.ConfFile, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(s.ConfDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	s.cmd = exec.Command(bin, "-n", "-c", s.ConfFile)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if exec.Command("supervisorctl", "-c", s.ConfFile, "pid").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "supervisord.log"))
			tb.Fatalf("supervisord did not answer within 20 s; log:\n%s", log)
		}
	}
	return s
}

// Ctl runs supervisorctl against this supervisord and returns its output.
func (s *Supervisord) Ctl(args ...string) (string, error) {
	out, err := exec.Command("supervisorctl", append([]string{"-c", s.ConfFile}, args...)...).CombinedOutput()
	return string(out), err
}

func (s *Supervisord) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
