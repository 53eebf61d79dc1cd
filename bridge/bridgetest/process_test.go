package bridgetest

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A port FreePort returned can be taken before the server binds it (by a
// test package running in parallel). The server is then started again on
// another port instead of failing the test.
func TestStartOnFreePortRetriesATakenPort(t *testing.T) {
	NeedBinary(t, RedisPath, "redis-server")
	// A socket bound to the port and not listening: the server cannot
	// bind it, and nothing answers there in the meantime.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	takenPort := sa.(*syscall.SockaddrInet4).Port
	dir := t.TempDir()
	var ports []int
	p := startOnFreePort(t, func(port int) *Process {
		if len(ports) == 0 {
			port = takenPort // someone else has it
		}
		ports = append(ports, port)
		return &Process{Name: "redis-server", Path: RedisPath, Addr: fmt.Sprintf("127.0.0.1:%d", port),
			Args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir}}
	})
	require.Len(t, ports, 2)
	require.Equal(t, fmt.Sprintf("127.0.0.1:%d", ports[1]), p.Addr)
	require.NotZero(t, p.PID())
}
