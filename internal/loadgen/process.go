package loadgen

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Clickrelay is a `clickrelay all` process a runner started and stops.
type Clickrelay struct {
	Cmd  *exec.Cmd
	Base string // http://127.0.0.1:port
	done chan error
}

// StartClickrelay starts `binary all` on 127.0.0.1:port with env added to
// the runner's own, and waits up to 60 s for its /health. Its output goes
// to dataDir/clickrelay.log; its pid is in dataDir/clickrelay.pid while it
// runs, so the script that started the runner can stop it if the runner
// itself dies.
func StartClickrelay(binary, dataDir string, port int, env []string) (*Clickrelay, error) {
	cmd := exec.Command(binary, "all")
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("CLICKRELAY_ADDR=127.0.0.1:%d", port)), env...)
	logPath := filepath.Join(dataDir, "clickrelay.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &Clickrelay{Cmd: cmd, Base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	pidFile := filepath.Join(dataDir, "clickrelay.pid")
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	go func() {
		err := cmd.Wait()
		_ = os.Remove(pidFile) // its number may be another process's soon
		logFile.Close()
		c.done <- err
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get(c.Base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.done:
			return nil, fmt.Errorf("clickrelay exited at start: %v (log: %s)", err, logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("clickrelay did not answer /health within 60 s (log: %s)", logPath)
		}
	}
}

// Stop sends SIGTERM and waits up to 90 s for the graceful shutdown.
func (c *Clickrelay) Stop() error {
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return err
	case <-time.After(90 * time.Second):
		_ = c.Cmd.Process.Kill()
		return fmt.Errorf("clickrelay did not stop within 90 s")
	}
}
