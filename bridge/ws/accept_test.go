package ws_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/ws"
)

// TestAcceptedSocketsHaveNoKeepaliveTimer: the server turns TCP keepalive
// off on the sockets it accepts (its pings and timeouts find dead peers;
// the probes would only cost system calls per connect). Linux shows an
// armed keepalive timer in /proc/net/tcp as timer kind 2 on an
// established, idle socket; the server's end of a fresh connection must
// have none, while a client socket with keepalive on shows one, so the
// check can tell the two apart.
func TestAcceptedSocketsHaveNoKeepaliveTimer(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("needs Linux's /proc/net/tcp")
	}
	ls := startLimits(t, ws.Config{})
	d := net.Dialer{KeepAlive: time.Hour}
	c, err := d.Dial("tcp", ls.srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	server := c.RemoteAddr().(*net.TCPAddr).Port
	client := c.LocalAddr().(*net.TCPAddr).Port
	require.Eventually(t, func() bool {
		kind, ok := tcpTimer(t, client, server)
		return ok && kind == "02"
	}, 5*time.Second, 20*time.Millisecond, "the client's socket, with keepalive, shows the timer")
	// Wait until the server has surely accepted the socket and set its
	// options, then check it stays without a timer.
	time.Sleep(200 * time.Millisecond)
	kind, ok := tcpTimer(t, server, client)
	require.True(t, ok, "the server's end of the connection is listed")
	require.Equal(t, "00", kind, "no timer armed on the accepted socket")
}

// tcpTimer returns the timer kind ("tr" field) of the IPv4 TCP socket
// from local to remote port on 127.0.0.1, as /proc/net/tcp lists it.
func tcpTimer(t *testing.T, local, remote int) (string, bool) {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	require.NoError(t, err)
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X 0100007F:%04X", local, remote)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "sl local rem st tx_queue:rx_queue tr:tm->when ..."
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1]+" "+fields[2] != want || fields[3] != "01" { // 01: ESTABLISHED
			continue
		}
		kind, _, _ := strings.Cut(fields[5], ":")
		return kind, true
	}
	require.NoError(t, sc.Err())
	return "", false
}
