package simulator

import (
	"math/rand/v2"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// TestBadPayloadsAreMalformed checks that every kind of bad payload is
// rejected by a real decoder, so the simulator's Bad really exercises the
// rejection paths.
func TestBadPayloadsAreMalformed(t *testing.T) {
	z := devices.Zigbee2MQTT{}
	good := z.Sample("zigbee2mqtt", "kitchen", start, rand.New(rand.NewPCG(1, 2)))[0]
	rnd := rand.New(rand.NewPCG(3, 4))
	kinds := map[string]bool{}
	for range 200 {
		m := good
		m.Payload = badPayload(rnd, good.Payload)
		_, err := z.Decode("zigbee2mqtt", m)
		verdict, reason := devices.Verdict(err)
		require.Equal(t, "rejected", verdict, "%q", m.Payload)
		kinds[reason] = true
	}
	require.GreaterOrEqual(t, len(kinds), 3, "reasons seen: %v", kinds)
}

func TestDropConnReportsDropped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	peer := <-accepted
	require.NotNil(t, peer)
	defer peer.Close()

	c := &dropConn{Conn: raw, raw: raw}
	c.drop()
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, errDropped)
	_, err = c.Write([]byte("x"))
	require.ErrorIs(t, err, errDropped)
	// The peer (the broker) sees the connection end without DISCONNECT.
	_, err = peer.Read(make([]byte, 1))
	require.Error(t, err)
}
