package ws

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/wire"
)

// wheelSocket is a socket on a wheel, its network side one end of a pipe
// whose reads report how they ended.
type wheelSocket struct {
	cn   *conn
	read chan error
}

func addSocket(t *testing.T, w *wheel, h *hub.Hub, now, readBy time.Duration) *wheelSocket {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	ws := &wheelSocket{cn: &conn{sess: h.NewSession(fmt.Sprint("s", now), "u", "t", "n")}, read: make(chan error, 1)}
	go func() {
		_, err := a.Read(make([]byte, 1))
		ws.read <- err
	}()
	w.add(ws.cn, a, now, readBy)
	return ws
}

// pinged says whether the session was asked for a ping since the last
// look, and takes the ping.
func (ws *wheelSocket) pinged(t *testing.T) bool {
	t.Helper()
	frames, err := ws.cn.sess.TakeNow(nil)
	if errors.Is(err, hub.ErrIdle) {
		return false
	}
	require.NoError(t, err)
	for _, f := range frames {
		if f.Ping {
			return true
		}
	}
	return false
}

// readEnded says whether the socket's read ended, and with a timeout.
func (ws *wheelSocket) readEnded() (ended, timeout bool) {
	select {
	case err := <-ws.read:
		var ne net.Error
		return true, errors.As(err, &ne) && ne.Timeout()
	case <-time.After(50 * time.Millisecond):
		return false, false
	}
}

// TestWheelPingsOncePerInterval: a socket is asked for a ping one ping
// interval after it is added, then every interval after the last one,
// and not in between.
func TestWheelPingsOncePerInterval(t *testing.T) {
	const ping = 100 * time.Millisecond
	w := newWheel(ping, time.Hour, nil)
	base := mono()
	s := addSocket(t, w, hub.New(hub.Config{}), base, base+time.Hour)
	w.sweep(base + ping/2)
	require.False(t, s.pinged(t), "pinged before one interval")
	w.sweep(base + ping + w.tick)
	require.True(t, s.pinged(t), "not pinged after one interval")
	w.sweep(base + ping + ping/2)
	require.False(t, s.pinged(t), "pinged twice within an interval")
	w.sweep(base + 2*ping + 2*w.tick)
	require.True(t, s.pinged(t), "not pinged after the second interval")
}

// TestWheelEndsReadsPastTheirDeadline: a read goes on until its deadline,
// however late the reader moved it, and then fails with a timeout, as on
// a deadline of its own; a closing socket's read is left to its linger.
func TestWheelEndsReadsPastTheirDeadline(t *testing.T) {
	const ping = 100 * time.Millisecond
	w := newWheel(ping, 300*time.Millisecond, nil)
	h := hub.New(hub.Config{})
	base := mono()
	s := addSocket(t, w, h, base, base+300*time.Millisecond)
	w.sweep(base + 200*time.Millisecond)
	ended, _ := s.readEnded()
	require.False(t, ended, "read ended before its deadline")
	require.True(t, s.cn.keep.extendRead(base+500*time.Millisecond))
	w.sweep(base + 400*time.Millisecond)
	ended, _ = s.readEnded()
	require.False(t, ended, "read ended at the deadline it was moved from")
	w.sweep(base + 500*time.Millisecond + w.tick)
	ended, timeout := s.readEnded()
	require.True(t, ended, "read goes on past its deadline")
	require.True(t, timeout, "read ended by something else than its deadline")
	require.False(t, s.cn.keep.extendRead(base+time.Second), "a read that ended is not extended")

	closing := addSocket(t, w, h, base, base+600*time.Millisecond)
	closing.cn.keep.readBy.Store(readOff)
	require.False(t, closing.cn.keep.extendRead(base+time.Second), "a closing socket's read is not extended")
	w.sweep(base + time.Second)
	ended, _ = closing.readEnded()
	require.False(t, ended, "the wheel ended a closing socket's read")
}

// TestWheelClosesExpiredSessions: a session is closed with 4010 when its
// token expires, also when the token expires before the socket's next
// ping or deadline (advance), and not before.
func TestWheelClosesExpiredSessions(t *testing.T) {
	w := newWheel(25*time.Second, 10*time.Second, nil)
	base := mono()
	s := addSocket(t, w, hub.New(hub.Config{}), base, base+10*time.Second)
	exp := base + time.Second
	s.cn.keep.expires.Store(int64(exp))
	w.advance(s.cn, exp)
	w.sweep(exp - w.tick)
	_, closed := s.cn.sess.CloseCode()
	require.False(t, closed, "closed before its token expired")
	w.sweep(exp + w.tick)
	code, closed := s.cn.sess.CloseCode()
	require.True(t, closed, "not closed when its token expired")
	require.Equal(t, wire.CloseTokenExpired, code)
}

// TestWheelForgetsRemovedSockets: a socket removed is neither pinged nor
// timed out, and its place in the wheel is gone.
func TestWheelForgetsRemovedSockets(t *testing.T) {
	w := newWheel(100*time.Millisecond, 300*time.Millisecond, nil)
	h := hub.New(hub.Config{})
	base := mono()
	kept := addSocket(t, w, h, base, base+300*time.Millisecond)
	gone := addSocket(t, w, h, base, base+300*time.Millisecond)
	w.remove(gone.cn)
	w.sweep(base + time.Second)
	require.False(t, gone.pinged(t), "a removed socket was pinged")
	ended, _ := gone.readEnded()
	require.False(t, ended, "a removed socket's read was ended")
	require.True(t, kept.pinged(t), "the other socket was not pinged")
	ended, _ = kept.readEnded()
	require.True(t, ended, "the other socket's read goes on past its deadline")
	w.remove(kept.cn)
	for i, c := range w.slots {
		require.Nil(t, c, "slot %d still holds a socket", i)
	}
}

// TestUnclaimedAdmissionsExpire: an upgrade whose handler never claims its
// admission (writing the 101 failed) gives its place back after the
// connect timeout, and not before.
func TestUnclaimedAdmissionsExpire(t *testing.T) {
	s, err := New("127.0.0.1:0", Config{Hub: hub.New(hub.Config{}), ConnectTimeout: time.Second})
	require.NoError(t, err)
	defer s.ln.Close()
	a, reason := s.admitPending(netip.MustParsePrefix("192.0.2.1/32"))
	require.NotNil(t, a, reason)
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	base := mono()
	a.nc, a.expires = nc, base+time.Second
	s.admitted[nc] = a
	s.expireAdmissions(base + time.Second - time.Millisecond)
	require.Equal(t, 1, s.Pending(), "expired early")
	s.expireAdmissions(base + time.Second)
	require.Equal(t, 0, s.Pending(), "place not given back")
	require.Empty(t, s.admitted)
	require.Empty(t, s.perAddr)
}
