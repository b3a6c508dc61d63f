package proctest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Xinetd is a throwaway xinetd with its own configuration, pid file and
// include directory, serving one baseline service so that it runs (and
// writes its pid file) before any component is added.
type Xinetd struct {
	PidFile    string
	IncludeDir string // the module's xinetdTargetDir
	Pid        int
	cmd        *exec.Cmd
}

// StartXinetd starts xinetd in the foreground (it needs root) and stops it
// when the test ends.
func StartXinetd(tb testing.TB) *Xinetd {
	tb.Helper()
	RequireRoot(tb)
	bin := LookPath(tb, "xinetd")
	dir := tb.TempDir()
	x := &Xinetd{PidFile: filepath.Join(dir, "xinetd.pid"), IncludeDir: filepath.Join(dir, "xinetd.d")}
	if err := os.MkdirAll(x.IncludeDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	conf := filepath.Join(dir, "xinetd.conf")
	body := fmt.Sprintf("defaults\n{\n\tlog_type = FILE %s/xinetd.log\n}\n\n%s\nincludedir %s\n",
		dir, EchoService("baseline", FreePort(tb), "baseline"), x.IncludeDir)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	x.cmd = exec.Command(bin, "-dontfork", "-pidfile", x.PidFile, "-f", conf)
	if err := x.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	x.Pid = x.cmd.Process.Pid
	tb.Cleanup(func() {
		x.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { x.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			x.cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if data, err := os.ReadFile(x.PidFile); err == nil && strings.TrimSpace(string(data)) == fmt.Sprint(x.Pid) {
			return x
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "xinetd.log"))
			tb.Fatalf("xinetd wrote no pid file within 10 s; log:\n%s", log)
		}
	}
}

// EchoService is an xinetd service section answering every connection to
// 127.0.0.1:port with the words of answer.
func EchoService(name string, port int, answer string) string {
	return fmt.Sprintf(`service %s
{
	type        = UNLISTED
	port        = %d
	socket_type = stream
	protocol    = tcp
	wait        = no
	user        = root
	server      = /bin/echo
	server_args = %s
	bind        = 127.0.0.1
}
`, name, port, answer)
}

// AskTCP connects to 127.0.0.1:port and returns the first line it sends.
func AskTCP(port int) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
