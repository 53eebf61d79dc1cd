package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// handleFrame answers one client frame. It returns done=true with a close
// code when the connection must end (the close frame is already queued).
func (cn *conn) handleFrame(data []byte) (done bool, code int) {
	req, id, perr := wire.ParseRequest(data)
	if perr != nil {
		// -32700 and -32600 keep the connection open (PROTOCOL.md).
		cn.sendError(id, perr)
		return false, 0
	}
	if cn.id == nil {
		if req.Method != wire.MethodConnect {
			return cn.fail(id, req.Method, wire.CodeUnauthorized, wire.CloseUnauthorized, "connect first")
		}
		return cn.connect(id, req)
	}
	if !cn.limiter.Allow() {
		cn.limited++
		if m := cn.srv.cfg.Metrics; m != nil {
			m.RateLimited.Inc()
		}
		if cn.limited > cn.srv.cfg.RequestBurst {
			return cn.fail(id, req.Method, wire.CodeRateLimited, wire.CloseRateLimited, "rate limit exceeded")
		}
		cn.reply(id, req.Method, nil, wire.NewError(wire.CodeRateLimited, "rate limited: slow down"))
		return false, 0
	}
	cn.limited = 0
	if l := cn.tenant.limiter; l != nil && !l.Allow() {
		// The tenant's connections together are over their rate: refuse
		// this request, but never close a connection for what others did.
		if m := cn.srv.cfg.Metrics; m != nil {
			m.Limited.WithLabelValues(limitTenantRate).Inc()
		}
		cn.reply(id, req.Method, nil, wire.NewError(wire.CodeRateLimited, "rate limited: this tenant's request rate on the node is exceeded (http.tenant_request_rate); slow down"))
		return false, 0
	}
	var result any
	var rerr *wire.Error
	switch req.Method {
	case wire.MethodConnect:
		rerr = wire.NewError(wire.CodeInvalidRequest, "invalid request: already connected")
	case wire.MethodSubscribe:
		rerr = cn.subscribe(id, req.Params)
		if rerr == nil {
			return false, 0 // Session.Recover queued the result in order
		}
	case wire.MethodUnsubscribe:
		result, rerr = cn.unsubscribe(req.Params)
	case wire.MethodRefresh:
		result, rerr = cn.refresh(req.Params)
	case wire.MethodPublish:
		result, rerr = cn.publish(req.Params)
	case wire.MethodCommand:
		result, rerr = cn.command(req.Params)
	case wire.MethodCommands:
		result, rerr = cn.commands(req.Params)
	case wire.MethodPresence:
		result, rerr = cn.presence(req.Params)
	case wire.MethodHistory:
		result, rerr = cn.history(req.Params)
	case wire.MethodPing:
		result = wire.PingResult{TimeMS: float64(time.Now().UnixMicro()) / 1000}
	case wire.MethodReport:
		result, rerr = cn.report(req.Params)
	default:
		rerr = wire.NewError(wire.CodeMethodNotFound, "method not found: "+truncate(req.Method, 64))
	}
	if rerr != nil && rerr.Code == wire.CodeTokenExpired {
		return cn.fail(id, req.Method, wire.CodeTokenExpired, wire.CloseTokenExpired, rerr.Message)
	}
	cn.reply(id, req.Method, result, rerr)
	return false, 0
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// fail answers with an error and closes the connection with the same code.
func (cn *conn) fail(id json.RawMessage, method string, errCode, closeCode int, msg string) (bool, int) {
	cn.reply(id, method, nil, wire.NewError(errCode, msg))
	cn.sess.Close(closeCode, msg, false)
	return true, closeCode
}

func (cn *conn) sendError(id json.RawMessage, e *wire.Error) { cn.reply(id, "", nil, e) }

func (cn *conn) reply(id json.RawMessage, method string, result any, e *wire.Error) {
	cn.sess.Send(cn.response(id, method, result, e))
}

// response encodes a response and counts it.
func (cn *conn) response(id json.RawMessage, method string, result any, e *wire.Error) []byte {
	var frame []byte
	var err error
	if e != nil {
		frame, err = json.Marshal(wire.Response{JSONRPC: "2.0", ID: id, Error: e})
	} else {
		if result == nil {
			result = struct{}{}
		}
		frame, err = wire.AppendResult(make([]byte, 0, 256), id, result)
	}
	if err != nil {
		frame, _ = json.Marshal(wire.Response{JSONRPC: "2.0", ID: id, Error: wire.NewError(wire.CodeInternal, "internal error")})
	}
	cn.count(method, e)
	return frame
}

// count counts a response to method (none for an unknown one).
func (cn *conn) count(method string, e *wire.Error) {
	if m := cn.srv.cfg.Metrics; m != nil && method != "" && knownMethod(method) {
		if e != nil {
			m.Requests.WithLabelValues(method, strconv.Itoa(e.Code)).Inc()
		} else {
			cachedCounter(&cn.srv.okRequests, m.Requests, method, "0").Inc()
		}
	}
}

// cachedCounter is vec.WithLabelValues(key, more...), looked up in vec
// once per key: the label lookup hashes and locks, every request (issue
// 10, W3). Only series that stay (a bounded set of keys, never deleted)
// are cached.
func cachedCounter(cache *sync.Map, vec *prometheus.CounterVec, key string, more ...string) prometheus.Counter {
	if c, ok := cache.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(append([]string{key}, more...)...)
	cache.Store(key, c)
	return c
}

func knownMethod(m string) bool {
	switch m {
	case wire.MethodConnect, wire.MethodSubscribe, wire.MethodUnsubscribe, wire.MethodRefresh,
		wire.MethodPublish, wire.MethodCommand, wire.MethodPresence, wire.MethodHistory, wire.MethodPing,
		wire.MethodReport, wire.MethodCommands:
		return true
	}
	return false
}

func (cn *conn) connect(id json.RawMessage, req *wire.Request) (bool, int) {
	// The read deadline becomes two ping intervals first: a connect that
	// fails closes the socket anyway. The wheel may have ended the read
	// while this frame waited: the connect came too late.
	if !cn.keep.extendRead(mono() + 2*cn.srv.cfg.PingInterval) {
		cn.sess.Close(wire.CloseUnauthorized, "connect timeout", false)
		return true, wire.CloseUnauthorized
	}
	var p wire.ConnectParams
	if err := wire.DecodeParams(req.Params, &p); err != nil || p.Token == "" {
		return cn.fail(id, req.Method, wire.CodeUnauthorized, wire.CloseUnauthorized, "connect needs a token")
	}
	ident, err := cn.srv.cfg.Verifier.Verify(p.Token)
	if err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return cn.fail(id, req.Method, wire.CodeTokenExpired, wire.CloseTokenExpired, "token expired")
		}
		cn.srv.reject("auth")
		return cn.fail(id, req.Method, wire.CodeUnauthorized, wire.CloseUnauthorized, "invalid token")
	}
	if cn.revoked(ident) {
		cn.srv.reject("auth")
		return cn.fail(id, req.Method, wire.CodeUnauthorized, wire.CloseUnauthorized, "token revoked")
	}
	if cn.srv.signedOut(ident) {
		cn.srv.reject("auth")
		return cn.fail(id, req.Method, wire.CodeUnauthorized, wire.CloseUnauthorized, msgSignedOut)
	}
	ts, ok := cn.srv.limits.join(ident.Tenant, ident.User)
	if !ok {
		cn.srv.reject("user_limit")
		return cn.fail(id, req.Method, wire.CodeRateLimited, wire.CloseRateLimited,
			"too many connections for this user on the node (http.max_connections_per_user is "+strconv.Itoa(cn.srv.cfg.MaxConnectionsPerUser)+"); close one")
	}
	s := cn.sess
	s.User, s.Tenant = ident.User, ident.Tenant
	s.SetTokenID(ident.ID)
	if err := cn.srv.cfg.Hub.Add(s); err != nil {
		cn.srv.limits.leave(ident.Tenant, ident.User)
		cn.srv.reject("tenant_limit")
		return cn.fail(id, req.Method, wire.CodeRateLimited, wire.CloseRateLimited, "too many connections for this tenant")
	}
	cn.tenant = ts
	cn.id = ident
	cn.armExpiry(ident.Expires)
	cn.reply(id, req.Method, wire.ConnectResult{
		Session: s.ID, Node: cn.srv.cfg.Node, User: ident.User, Tenant: ident.Tenant,
		PingIntervalMS: cn.srv.cfg.PingInterval.Milliseconds(), ExpiresAt: ident.Expires.UTC(),
	}, nil)
	return false, 0
}

// revoked reports whether the token was revoked by jti (cluster-wide).
func (cn *conn) revoked(id *auth.Identity) bool {
	c := cn.srv.cfg.Control
	return c != nil && id.ID != "" && c.Revoked(revocationKey(id.Tenant, id.ID))
}

// msgSignedOut tells a client why a token issued before its user's
// sign-out is refused.
const msgSignedOut = "signed out: this token was issued before the sign-out; sign in again for a new token"

// signedOut reports whether the token was issued before its user's latest
// sign-out (cluster-wide; POST /api/v1/signout).
func (s *Server) signedOut(id *auth.Identity) bool {
	c := s.cfg.Control
	return c != nil && id.SignedOutBy(c.NotBefore(id.Tenant, id.User))
}

// armExpiry has the keep-alive wheel close the session with 4010 when its
// token expires without a refresh (keepalive.go).
func (cn *conn) armExpiry(exp time.Time) {
	at := max(mono()+time.Until(exp), 1) // 0 would mean none
	cn.keep.expires.Store(int64(at))
	cn.srv.keep.advance(cn, at)
}

func (cn *conn) channel(name string, check func(string) bool) (wire.Channel, *wire.Error) {
	ch, err := wire.ParseChannel(name)
	if err != nil {
		return ch, wire.NewError(wire.CodeInvalidParams, "invalid params: "+err.Error())
	}
	// Permissions are matched on the canonical name (auth match.go); an
	// alternative escaping of a device id or tag names no channel.
	if c := auth.CanonicalChannel(ch); c != name {
		return ch, wire.NewError(wire.CodeInvalidParams, "invalid params: channel is not in canonical form; use "+truncate(c, 64))
	}
	if !check(name) {
		return ch, wire.NewError(wire.CodeForbidden, "permission denied for channel "+truncate(name, 64))
	}
	return ch, nil
}

// deviceID maps a device channel back to the device id it names.
func deviceID(ch wire.Channel) string {
	if ch.Kind != wire.KindDevice {
		return ""
	}
	return wire.UnescapeID(ch.Arg)
}

func (cn *conn) subscribe(id json.RawMessage, raw json.RawMessage) *wire.Error {
	var p wire.SubscribeParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return err
	}
	ch, err := cn.channel(p.Channel, cn.id.CanSubscribe)
	if err != nil {
		return err
	}
	if limit := cn.srv.cfg.MaxSubscriptions; cn.sess.NumSubs() >= limit && !cn.sess.Subscribed(ch.Name) {
		// -32602, not 4029: retrying cannot help until the client
		// unsubscribes, and SDKs retry 4029 with backoff.
		if m := cn.srv.cfg.Metrics; m != nil {
			m.Limited.WithLabelValues(limitSubscriptions).Inc()
		}
		return wire.NewError(wire.CodeInvalidParams, "invalid params: too many subscriptions on this connection (http.max_subscriptions_per_connection is "+
			strconv.Itoa(limit)+"); unsubscribe from a channel first")
	}
	switch p.Mode {
	case "", wire.ModeStream, wire.ModeLatest:
	default:
		return wire.NewError(wire.CodeInvalidParams, `invalid params: mode is "stream" or "latest"`)
	}
	if p.MaxRateHz < 0 || (p.MaxRateHz > 0 && p.Mode != wire.ModeLatest) {
		return wire.NewError(wire.CodeInvalidParams, "invalid params: max_rate_hz needs mode latest and must be positive")
	}
	srv := cn.srv
	tenant := cn.id.Tenant
	// Recovery without a global lock (hub doc.go): subscribe first, so
	// that live publications are held from now on; then read the store;
	// Recover merges both by offset.
	sub, serr := srv.cfg.Hub.Subscribe(cn.ctx, cn.sess, ch.Name, hub.SubOptions{Mode: p.Mode, MaxRateHz: p.MaxRateHz})
	if serr != nil {
		srv.cfg.Logger.Warn("subscribe upstream failed", "tenant", tenant, "channel", ch.Name, "err", serr)
		return wire.NewError(wire.CodeInternal, "subscribe failed: the node cannot reach its backplane; retry")
	}
	res, snapshot, recovered, rerr := srv.recover(cn.ctx, tenant, ch, p.Since)
	if rerr != nil {
		srv.cfg.Hub.Unsubscribe(cn.sess, ch.Name)
		srv.cfg.Logger.Warn("subscribe: store read failed", "tenant", tenant, "channel", ch.Name, "err", rerr)
		return wire.NewError(wire.CodeInternal, "subscribe failed: the node cannot reach its store; retry")
	}
	if m := srv.cfg.Metrics; m != nil {
		outcome := "snapshot"
		if res.Recovered {
			outcome = "recovered"
		}
		cachedCounter(&srv.recoveries, m.Recoveries, outcome).Inc()
	}
	var frame []byte
	if res.Recovered {
		frame = cn.response(id, wire.MethodSubscribe, res, nil)
	} else {
		frame = cn.snapshotResponse(id, res, snapshot)
	}
	cn.sess.Recover(sub, recovered, wire.StreamPosition{Epoch: res.Epoch, Offset: res.Offset}, frame)
	if pr := srv.cfg.Presence; pr != nil {
		if err := pr.Join(cn.ctx, tenant, ch.Name, wire.PresenceClient{User: cn.sess.User, Session: cn.sess.ID,
			Node: cn.sess.Node, ConnectedAt: cn.sess.ConnectedAt}); err != nil {
			srv.cfg.Logger.Warn("presence join failed", "tenant", tenant, "channel", ch.Name, "err", err)
		}
	}
	return nil
}

// recover reads what a subscribe answers: the publications after since
// when the store still holds all of them, else a snapshot; and the
// channel's position at that read.
func (s *Server) recover(ctx context.Context, tenant string, ch wire.Channel, since *wire.StreamPosition) (wire.SubscribeResult, []devices.Reading, []*state.Publication, error) {
	res := wire.SubscribeResult{Channel: ch.Name}
	if since != nil {
		pubs, pos, ok, err := s.cfg.Store.Since(ctx, tenant, ch, *since)
		if err != nil {
			return res, nil, nil, err
		}
		if ok {
			res.Epoch, res.Offset, res.Recovered = pos.Epoch, pos.Offset, true
			return res, nil, pubs, nil
		}
	}
	// Position first, then the snapshot: a publication between the two is
	// in the snapshot and also delivered live after the result, which a
	// merge by device time makes harmless; the reverse order could lose it.
	pos, err := s.cfg.Store.Position(ctx, tenant, ch)
	if err != nil {
		return res, nil, nil, err
	}
	snap, err := s.cfg.Store.Snapshot(ctx, tenant, ch)
	if err != nil {
		return res, nil, nil, err
	}
	res.Epoch, res.Offset = pos.Epoch, pos.Offset
	return res, snap, nil, nil
}

// snapshotResponse is response for a subscribe answered with a snapshot:
// the Readings are encoded straight into the frame
// (wire.AppendSnapshotResult).
func (cn *conn) snapshotResponse(id json.RawMessage, res wire.SubscribeResult, snapshot []devices.Reading) []byte {
	// Sized for a typical Reading each, so that the frame is rarely
	// copied as it grows.
	frame, err := wire.AppendSnapshotResult(make([]byte, 0, 256+512*len(snapshot)), id, res, snapshot)
	if err != nil {
		return cn.response(id, wire.MethodSubscribe, nil, wire.NewError(wire.CodeInternal, "internal error"))
	}
	cn.count(wire.MethodSubscribe, nil)
	return frame
}

// leavePresence removes a session from the presence of channels.
func (s *Server) leavePresence(tenant, session string, chans []string) {
	pr := s.cfg.Presence
	if pr == nil || len(chans) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, ch := range chans {
		if err := pr.Leave(ctx, tenant, ch, session); err != nil {
			s.cfg.Logger.Warn("presence leave failed", "tenant", tenant, "channel", ch, "err", err)
			return
		}
	}
}

func (cn *conn) unsubscribe(raw json.RawMessage) (any, *wire.Error) {
	var p wire.ChannelParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	if _, err := wire.ParseChannel(p.Channel); err != nil {
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: "+err.Error())
	}
	if cn.srv.cfg.Hub.Unsubscribe(cn.sess, p.Channel) {
		cn.srv.leavePresence(cn.id.Tenant, cn.sess.ID, []string{p.Channel})
	}
	return struct{}{}, nil
}

func (cn *conn) refresh(raw json.RawMessage) (any, *wire.Error) {
	var p wire.RefreshParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	ident, err := cn.srv.cfg.Verifier.Verify(p.Token)
	if err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return nil, wire.NewError(wire.CodeTokenExpired, "token expired")
		}
		return nil, wire.NewError(wire.CodeUnauthorized, "invalid token")
	}
	if ident.User != cn.id.User || ident.Tenant != cn.id.Tenant {
		return nil, wire.NewError(wire.CodeForbidden, "refresh token must have the same user and tenant")
	}
	if cn.revoked(ident) {
		return nil, wire.NewError(wire.CodeUnauthorized, "token revoked")
	}
	if cn.srv.signedOut(ident) {
		return nil, wire.NewError(wire.CodeUnauthorized, msgSignedOut)
	}
	cn.id = ident
	cn.sess.SetTokenID(ident.ID)
	cn.armExpiry(ident.Expires)
	cn.recheckSubscriptions()
	return wire.RefreshResult{ExpiresAt: ident.Expires.UTC()}, nil
}

// recheckSubscriptions ends the subscriptions the session's current token
// no longer allows, each with an `unsubscribed` notification queued before
// the refresh result; nothing of such a channel is delivered after its
// notification.
func (cn *conn) recheckSubscriptions() {
	var ended []string
	for _, ch := range cn.sess.Channels() {
		if cn.id.CanSubscribe(ch) {
			continue
		}
		if !cn.srv.cfg.Hub.Unsubscribe(cn.sess, ch) {
			continue // ended meanwhile
		}
		ended = append(ended, ch)
		frame, err := json.Marshal(wire.Notification{JSONRPC: "2.0", Method: wire.MethodUnsubscribed,
			Params: wire.UnsubscribedParams{Channel: ch, Reason: wire.UnsubscribedReasonPermission}})
		if err == nil {
			cn.sess.Send(frame)
		}
	}
	cn.srv.leavePresence(cn.id.Tenant, cn.sess.ID, ended)
}

func (cn *conn) publish(raw json.RawMessage) (any, *wire.Error) {
	var p wire.PublishParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	ch, err := cn.channel(p.Channel, cn.id.CanPublish)
	if err != nil {
		return nil, err
	}
	// Device, tag and monitor channels carry what devices said; only
	// application and user channels take client publications.
	if ch.Kind != wire.KindApp && ch.Kind != wire.KindUser {
		return nil, wire.NewError(wire.CodeForbidden, "only app: and user: channels accept publish")
	}
	if len(p.Data) == 0 {
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: data is required")
	}
	off, perr := cn.srv.publish(cn.ctx, cn.id.Tenant, ch, p.Data)
	if perr != nil {
		cn.srv.cfg.Logger.Warn("publish failed", "tenant", cn.id.Tenant, "channel", ch.Name, "err", perr)
		return nil, wire.NewError(wire.CodeInternal, "publish failed: the node cannot reach its backplane; retry")
	}
	return wire.PublishResult{Offset: off}, nil
}

// publish appends client or back-end data to a channel through the
// fan-out, which delivers it to every node, this one included.
func (s *Server) publish(ctx context.Context, tenant string, ch wire.Channel, data json.RawMessage) (uint64, error) {
	pub, err := s.cfg.Fanout.Publish(ctx, tenant, ch, compactJSON(data), nil)
	if err != nil {
		return 0, err
	}
	if m := s.cfg.Metrics; m != nil {
		m.Publications.WithLabelValues(string(ch.Kind)).Inc()
	}
	return pub.Offset, nil
}

func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append([]byte(nil), raw...)
	}
	return buf.Bytes()
}

func (cn *conn) command(raw json.RawMessage) (any, *wire.Error) {
	var p wire.CommandParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.Device == "" || p.Name == "" {
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: device and name are required")
	}
	if cn.srv.cfg.Command == nil {
		return nil, wire.NewError(wire.CodeInvalidParams, "commands are not enabled on this bridge")
	}
	if err := cn.srv.cfg.Command(cn.ctx, cn.id, p); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return nil, we
		}
		cn.srv.cfg.Logger.Warn("command failed", "device", p.Device, "name", p.Name, "err", err)
		return nil, wire.NewError(wire.CodeInternal, "command could not be sent")
	}
	return wire.CommandResult{Accepted: true}, nil
}

// commands lists what a device accepts, so that a page sends generic
// commands and never encodes a family's topics itself.
func (cn *conn) commands(raw json.RawMessage) (any, *wire.Error) {
	var p wire.CommandsParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.Device == "" {
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: device is required")
	}
	if cn.srv.cfg.Commands == nil {
		return wire.CommandsResult{Device: p.Device, Allowed: cn.id.CanCommand(p.Device), Commands: []wire.CommandSpec{}}, nil
	}
	res, err := cn.srv.cfg.Commands(cn.ctx, cn.id, p.Device)
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return nil, we
		}
		cn.srv.cfg.Logger.Warn("commands failed", "device", p.Device, "err", err)
		return nil, wire.NewError(wire.CodeInternal, "commands unavailable; retry")
	}
	return res, nil
}

func (cn *conn) presence(raw json.RawMessage) (any, *wire.Error) {
	var p wire.ChannelParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	ch, err := cn.channel(p.Channel, cn.id.CanSubscribe)
	if err != nil {
		return nil, err
	}
	clients, perr := cn.srv.cfg.Presence.List(cn.ctx, cn.id.Tenant, ch.Name)
	if perr != nil {
		cn.srv.cfg.Logger.Warn("presence failed", "tenant", cn.id.Tenant, "channel", ch.Name, "err", perr)
		return nil, wire.NewError(wire.CodeInternal, "presence unavailable; retry")
	}
	return wire.PresenceResult{Clients: clients}, nil
}

func (cn *conn) history(raw json.RawMessage) (any, *wire.Error) {
	var p wire.HistoryParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	ch, err := cn.channel(p.Channel, cn.id.CanSubscribe)
	if err != nil {
		return nil, err
	}
	if p.Limit < 0 || p.Limit > wire.MaxHistoryLimit {
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: limit is 1..1000")
	}
	if p.Limit == 0 {
		p.Limit = wire.MaxHistoryLimit
	}
	q := state.HistoryQuery{Since: p.Since, Before: p.Before, Limit: p.Limit, Reverse: p.Reverse}
	if p.Until != nil {
		q.Until = *p.Until
	}
	if p.From != nil {
		q.From = *p.From
	}
	page, herr := cn.srv.cfg.Store.History(cn.ctx, cn.id.Tenant, ch, q)
	if herr != nil {
		cn.srv.cfg.Logger.Warn("history failed", "tenant", cn.id.Tenant, "channel", ch.Name, "err", herr)
		return nil, wire.NewError(wire.CodeInternal, "history unavailable; retry")
	}
	res := wire.HistoryResult{Publications: make([]wire.Publication, 0, len(page.Publications)),
		Epoch: page.Epoch, Offset: page.Offset, Complete: page.Complete}
	for _, pub := range page.Publications {
		res.Publications = append(res.Publications, pub.Publication)
	}
	return res, nil
}

// report takes a client's latency histogram (an mqlive extension: the SDK
// measures bridge-receive → page latency with a ping-estimated clock offset).
func (cn *conn) report(raw json.RawMessage) (any, *wire.Error) {
	var p wire.ReportParams
	if err := wire.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	m := cn.srv.cfg.Metrics
	if p.Latency == nil || m == nil {
		return struct{}{}, nil
	}
	var n uint64
	for _, c := range p.Latency.Counts {
		n += min(c, wire.MaxReportSamples+1) // no wrap-around on hostile counts
	}
	if n > wire.MaxReportSamples || !m.ClientLatency.Add(cn.id.Tenant, p.Latency.Counts, p.Latency.Sum) {
		m.ClientReports.WithLabelValues("invalid").Inc()
		return nil, wire.NewError(wire.CodeInvalidParams, "invalid params: latency needs one count per bucket plus +Inf and a finite sum")
	}
	m.ClientReports.WithLabelValues("accepted").Inc()
	return struct{}{}, nil
}
