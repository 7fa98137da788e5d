package loadgen

import (
	"net"
	"os"
	"testing"
)

// A runner finds its own listener's process by the port.
func TestPIDListeningOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := PIDListeningOn(ln.Addr().(*net.TCPAddr).Port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("PIDListeningOn = %d, %v; want %d", pid, err, os.Getpid())
	}
	// A running Go process has mapped in its heap and stacks page by page.
	if u, err := ReadProcessUsage(pid); err != nil || u.PageFaults == 0 {
		t.Fatalf("ReadProcessUsage of ourselves = %+v, %v; want some page faults", u, err)
	}
}
