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
	if _, err := ProcessCPU(pid); err != nil {
		t.Fatalf("ProcessCPU of ourselves: %v", err)
	}
}
