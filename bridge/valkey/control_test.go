package valkey_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vk "github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/valkey"
)

// bpNode is one node's control channel with what its handler received.
type bpNode struct {
	c   vk.Client
	ctl *valkey.Control
	got chan cluster.ControlMessage
}

// bpStartControl starts a node's control channel; Run stops (and must
// return nil) when the test ends.
func bpStartControl(t *testing.T, prefix string, addrs ...string) *bpNode {
	t.Helper()
	n := &bpNode{c: bpDial(t, addrs...), got: make(chan cluster.ControlMessage, 64)}
	n.ctl = valkey.NewControl(n.c, prefix, func(m cluster.ControlMessage) {
		select {
		case n.got <- m:
		default:
			t.Errorf("control handler: test buffer full")
		}
	}, bpLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.ctl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Errorf("control Run did not return within 10s of cancel")
		}
	})
	return n
}

// expect waits for the next message the node's handler received.
func (n *bpNode) expect(t *testing.T, want cluster.ControlMessage) {
	t.Helper()
	select {
	case m := <-n.got:
		require.Equal(t, want.Kind, m.Kind)
		require.Equal(t, want.JTI, m.JTI)
		require.Equal(t, want.User, m.User)
		require.Equal(t, want.From, m.From)
		require.True(t, want.Until.Equal(m.Until))
	case <-time.After(10 * time.Second):
		t.Fatalf("no control message %+v within 10s", want)
	}
}

func bpWaitReady(t *testing.T, ns ...*bpNode) {
	t.Helper()
	bpPoll(t, 20*time.Second, "control ready", func() bool {
		for _, n := range ns {
			if !n.ctl.Ready() {
				return false
			}
		}
		return true
	})
}

func TestControl(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	bpTestControl(t, []string{r.Addr})
}

// bpTestControl: messages reach every node, the sender included;
// revocations hold on every node, on nodes started later, and end.
func bpTestControl(t *testing.T, addrs []string) {
	ctx, prefix := bpCtx(t), bpPrefix(t)
	a, b := bpStartControl(t, prefix, addrs...), bpStartControl(t, prefix, addrs...)
	bpWaitReady(t, a, b)

	out := cluster.ControlMessage{Kind: cluster.ControlSignOut, Tenant: "acme", User: "u1", From: "a"}
	require.NoError(t, a.ctl.Send(ctx, out))
	a.expect(t, out)
	b.expect(t, out)
	require.Error(t, a.ctl.Send(ctx, cluster.ControlMessage{}), "a kind is required")

	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	rev := cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "j1", Until: until, From: "b"}
	require.False(t, b.ctl.Revoked("j1"))
	require.NoError(t, b.ctl.Send(ctx, rev))
	require.True(t, b.ctl.Revoked("j1"), "the sender refuses the token at once")
	a.expect(t, rev)
	b.expect(t, rev)
	require.True(t, a.ctl.Revoked("j1"), "recorded before the handler saw it")
	require.False(t, a.ctl.Revoked("j2"))
	require.False(t, a.ctl.Revoked(""))

	// A revocation that already ended is delivered but refuses nothing.
	old := cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "j-old", Until: time.Now().Add(-time.Second).Truncate(time.Millisecond)}
	require.NoError(t, a.ctl.Send(ctx, old))
	a.expect(t, old)
	b.expect(t, old)
	require.False(t, a.ctl.Revoked("j-old"))
	require.False(t, b.ctl.Revoked("j-old"))

	// A node started later refuses j1: with Load before Run is ready...
	late := valkey.NewControl(bpDial(t, addrs...), prefix, nil, bpLogger(t))
	require.False(t, late.Revoked("j1"))
	require.NoError(t, late.Load(ctx))
	require.True(t, late.Revoked("j1"))
	// ...and by Run alone.
	c := bpStartControl(t, prefix, addrs...)
	bpWaitReady(t, c)
	require.True(t, c.ctl.Revoked("j1"))

	// A short revocation ends on every node, and leaves the hash.
	short := cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "j3", Until: time.Now().Add(300 * time.Millisecond)}
	require.NoError(t, a.ctl.Send(ctx, short))
	for _, n := range []*bpNode{a, b, c} {
		n.expect(t, short)
		require.True(t, n.ctl.Revoked("j3") || time.Now().After(short.Until))
	}
	bpPoll(t, 10*time.Second, "j3 ends", func() bool { return !a.ctl.Revoked("j3") && !c.ctl.Revoked("j3") })
	require.NoError(t, a.ctl.Load(ctx))
	fields, err := a.c.Do(ctx, a.c.B().Hkeys().Key(prefix+"{control}:r").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"j1"}, fields, "ended revocations are deleted")
	require.True(t, c.ctl.Revoked("j1"))
}

// TestControlRestart: after the server is killed and restarted on the same
// port (losing its data), delivery resumes and revocations survive: the
// nodes write back what they know.
func TestControlRestart(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	ctx, prefix := bpCtx(t), bpPrefix(t)
	a, b := bpStartControl(t, prefix, r.Addr), bpStartControl(t, prefix, r.Addr)
	bpWaitReady(t, a, b)
	rev := cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "j1", Until: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
	require.NoError(t, a.ctl.Send(ctx, rev))
	a.expect(t, rev)
	b.expect(t, rev)

	r.Kill()
	bpPoll(t, 20*time.Second, "both notice the lost subscription", func() bool { return !a.ctl.Ready() && !b.ctl.Ready() })
	require.True(t, a.ctl.Revoked("j1"), "memory keeps revocations while the server is away")
	r.Start(t)
	bpWaitReady(t, a, b)

	out := cluster.ControlMessage{Kind: cluster.ControlSignOut, Tenant: "acme", User: "u1", From: "b"}
	require.NoError(t, b.ctl.Send(ctx, out))
	a.expect(t, out)
	b.expect(t, out)
	require.True(t, a.ctl.Revoked("j1"))
	require.True(t, b.ctl.Revoked("j1"))

	// The restarted server lost the hash; the nodes wrote j1 back, so a
	// node started now refuses it too.
	late := valkey.NewControl(bpDial(t, r.Addr), prefix, nil, bpLogger(t))
	require.NoError(t, late.Load(ctx))
	require.True(t, late.Revoked("j1"))
}

// TestControlSignOut: a sign-out's "not valid before" holds on every node,
// on nodes started later (from the hash), keeps the later time, survives a
// server restart (the nodes write it back) and ends at its until.
func TestControlSignOut(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	ctx, prefix := bpCtx(t), bpPrefix(t)
	a, b := bpStartControl(t, prefix, r.Addr), bpStartControl(t, prefix, r.Addr)
	bpWaitReady(t, a, b)

	now := time.Now().Truncate(time.Millisecond)
	out := cluster.ControlMessage{Kind: cluster.ControlSignOut, Tenant: "acme", User: "u1", From: "a",
		NotBefore: now, Until: now.Add(time.Hour)}
	require.True(t, a.ctl.NotBefore("acme", "u1").IsZero())
	require.NoError(t, a.ctl.Send(ctx, out))
	require.True(t, a.ctl.NotBefore("acme", "u1").Equal(now), "the sender refuses at once")
	a.expect(t, out)
	b.expect(t, out)
	require.True(t, b.ctl.NotBefore("acme", "u1").Equal(now), "recorded before the handler saw it")
	require.True(t, b.ctl.NotBefore("acme", "u2").IsZero())
	require.True(t, b.ctl.NotBefore("globex", "u1").IsZero())

	// An older sign-out does not move it back.
	older := out
	older.NotBefore, older.Until = now.Add(-time.Minute), now.Add(time.Minute)
	require.NoError(t, b.ctl.Send(ctx, older))
	a.expect(t, older)
	b.expect(t, older)
	require.True(t, a.ctl.NotBefore("acme", "u1").Equal(now))

	late := valkey.NewControl(bpDial(t, r.Addr), prefix, nil, bpLogger(t))
	require.True(t, late.NotBefore("acme", "u1").IsZero())
	require.NoError(t, late.Load(ctx))
	require.True(t, late.NotBefore("acme", "u1").Equal(now), "a node started later refuses too")
	v, err := a.c.Do(ctx, a.c.B().Hget().Key(prefix+"{control}:s").Field("acme/u1").Build()).ToString()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%d:%d", now.UnixMilli(), now.Add(time.Hour).UnixMilli()), v, "the later of both times")

	// A short sign-out ends on every node and leaves the hash.
	short := cluster.ControlMessage{Kind: cluster.ControlSignOut, Tenant: "acme", User: "u3", NotBefore: now, Until: time.Now().Add(300 * time.Millisecond)}
	require.NoError(t, a.ctl.Send(ctx, short))
	a.expect(t, short)
	b.expect(t, short)
	bpPoll(t, 10*time.Second, "u3 ends", func() bool {
		return a.ctl.NotBefore("acme", "u3").IsZero() && b.ctl.NotBefore("acme", "u3").IsZero()
	})
	require.NoError(t, a.ctl.Load(ctx))
	fields, err := a.c.Do(ctx, a.c.B().Hkeys().Key(prefix+"{control}:s").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"acme/u1"}, fields, "ended sign-outs are deleted")

	r.Kill()
	bpPoll(t, 20*time.Second, "both notice the lost subscription", func() bool { return !a.ctl.Ready() && !b.ctl.Ready() })
	r.Start(t)
	bpWaitReady(t, a, b)
	again := valkey.NewControl(bpDial(t, r.Addr), prefix, nil, bpLogger(t))
	require.NoError(t, again.Load(ctx))
	require.True(t, again.NotBefore("acme", "u1").Equal(now), "written back after the server lost it")
}
