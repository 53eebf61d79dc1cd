package client

import (
	"strings"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// sub is one channel in the desired-subscription set.
type sub struct {
	channel string
	opts    SubscribeOptions
	pos     Position // last position seen: replayed as since
	havePos bool
	// subscribed: the result of the latest subscribe sent on the current
	// connection arrived. Publications before it are recovered ones, old
	// by design, so they are not measured for latency.
	subscribed bool
	// since: the subscribe in flight carried since (a resume); recovered
	// counts the publications delivered before its result.
	since     bool
	recovered int
	// resync: a lagged arrived; until the subscribe result only the next
	// offset of the same epoch is delivered (README "Modes").
	resync bool
	// gapPending: a resume answered recovered:false for an empty channel
	// (epoch "": a restarted bridge with nothing published yet), so the
	// epoch after the gap is not known; the gap from gapFrom is reported
	// before the next publication.
	gapPending bool
	gapFrom    Position
	attempt    int // failed subscribes in a row, for the retry backoff
	state      SubState
	waiters    []Done
}

func (s *sub) fail(err error) {
	ws := s.waiters
	s.waiters = nil
	for _, w := range ws {
		w(nil, err)
	}
}

// isDeviceChannel reports whether ch carries Readings (PROTOCOL.md
// "Channels"); those feed the device table.
func isDeviceChannel(ch string) bool {
	return ch == "devices" || strings.HasPrefix(ch, "device:") || strings.HasPrefix(ch, "tag:")
}

func (a *actor) sortedSubs() []*sub {
	out := make([]*sub, 0, len(a.subs))
	for _, s := range a.subs {
		out = append(out, s)
	}
	// An insertion sort: a connection holds few channels (the bridge caps
	// them), and slices.SortFunc would add about 18 KB of code to the
	// .wasm (WASM.md §1 size budget).
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].channel < out[j-1].channel; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (a *actor) subscribe(channel string, opts SubscribeOptions, done Done) {
	if a.stopped {
		if done != nil {
			done(nil, ErrClosed)
		}
		return
	}
	s, ok := a.subs[channel]
	if !ok {
		s = &sub{channel: channel}
		a.subs[channel] = s
	}
	if a.state == StateConnected || !ok {
		a.setSubState(s, SubSubscribing, 0, "subscribe")
	}
	s.opts = opts
	if opts.Since != nil {
		s.pos, s.havePos = *opts.Since, true
	}
	if done != nil {
		s.waiters = append(s.waiters, done)
	}
	if a.state == StateConnected {
		a.sendSubscribe(s)
	}
}

func (a *actor) sendSubscribe(s *sub) {
	s.subscribed = false
	s.since, s.recovered = s.havePos, 0
	p := newObj().str("channel", s.channel)
	if s.opts.Mode != "" {
		p.str("mode", s.opts.Mode)
	}
	if s.opts.MaxRateHz > 0 {
		p.float("max_rate_hz", s.opts.MaxRateHz)
	}
	if s.havePos {
		p.sub("since", positionObj(s.pos))
	}
	a.send(protocol.MethodSubscribe, p, func(res Value, err error) { a.onSubscribeReply(s, res, err) })
}

func (a *actor) onSubscribeReply(s *sub, res Value, err error) {
	if a.subs[s.channel] != s || err == ErrConnectionLost {
		return // unsubscribed meanwhile, or replayed after the reconnect
	}
	if err != nil {
		e, _ := err.(*Error)
		if e.Code == CodeRateLimited {
			d := Backoff(s.attempt, a.cfg.MinReconnectDelay, a.cfg.MaxReconnectDelay, a.cfg.Rand)
			s.attempt++
			a.after(d, func() {
				if a.subs[s.channel] == s && a.state == StateConnected {
					a.sendSubscribe(s)
				}
			})
			return
		}
		delete(a.subs, s.channel)
		a.setSubState(s, SubUnsubscribed, e.Code, e.Message)
		a.emit(Event{Kind: EvSubscribeError, Channel: s.channel, Err: e})
		s.fail(e)
		return
	}
	s.subscribed = true
	s.attempt = 0
	epoch := str(res, "epoch")
	off, _ := num(res, "offset")
	recovered := res.Get("recovered").Truth()
	now := Position{Epoch: epoch, Offset: int64(off)}
	last := s.pos
	if s.gapPending {
		last = s.gapFrom
	}
	if s.since && !recovered && s.pos != now {
		// History gone: the snapshot replaces the state, and the next live
		// publication carries offset+1.
		if now.Epoch == "" {
			s.gapPending, s.gapFrom = true, last
		} else {
			s.gapPending = false
			a.gapAfter(s, last, now.Epoch, now.Offset+1)
		}
	} else if s.since && recovered && s.opts.Mode != "latest" && s.pos.Epoch == now.Epoch && s.pos.Offset < now.Offset {
		// Recovered, yet publications up to the result's offset did not
		// arrive before it: the answer does not cover them, so say so
		// rather than move past them silently.
		a.gap(s, now.Epoch, now.Offset+1)
	}
	s.pos, s.havePos, s.resync = now, true, false
	a.setSubState(s, SubSubscribed, 0, "")
	if t := a.cfg.Table; t != nil && !recovered && isDeviceChannel(s.channel) {
		set, removed := t.Replace(res.Get("snapshot"), s.channel == "devices")
		for _, id := range removed {
			a.emit(Event{Kind: EvDeviceRemoved, Channel: s.channel, DeviceID: id})
		}
		for _, d := range set {
			a.emit(Event{Kind: EvDevice, Channel: s.channel, Device: d})
		}
	}
	a.emit(Event{Kind: EvSubscribed, Channel: s.channel, Recovered: recovered, WasRecovering: s.since,
		Count: s.recovered, Epoch: epoch, Offset: int64(off), Data: res})
	ws := s.waiters
	s.waiters = nil
	for _, w := range ws {
		w(res, nil)
	}
}

func (a *actor) unsubscribe(channel string, done Done) {
	if done == nil {
		done = func(Value, error) {}
	}
	s, ok := a.subs[channel]
	if !ok {
		done(nil, nil)
		return
	}
	delete(a.subs, channel)
	a.setSubState(s, SubUnsubscribed, 0, "unsubscribe")
	s.fail(ErrUnsubscribed)
	if a.state != StateConnected {
		done(nil, nil)
		return
	}
	a.send(protocol.MethodUnsubscribe, newObj().str("channel", channel), done)
}

// gap reports lost continuity: nothing was delivered after s.pos and
// before (epoch, first).
func (a *actor) gap(s *sub, epoch string, first int64) { a.gapAfter(s, s.pos, epoch, first) }

// gapAfter is gap from last instead of s.pos.
func (a *actor) gapAfter(s *sub, last Position, epoch string, first int64) {
	a.emit(Event{Kind: EvGap, Channel: s.channel, Epoch: epoch, Offset: first, LastEpoch: last.Epoch, LastOffset: last.Offset})
}

// onPublication delivers one message notification. Publications at or
// before the last position seen are duplicates and dropped, and so is any
// but the next one while a lagged re-sync is pending. A live publication
// of a new epoch is delivered after a gap event.
func (a *actor) onPublication(p Value) {
	ch := str(p, "channel")
	s, ok := a.subs[ch]
	if !ok {
		return
	}
	epoch := str(p, "epoch")
	f, _ := num(p, "offset")
	off := int64(f)
	if s.havePos && epoch == s.pos.Epoch && off <= s.pos.Offset ||
		s.resync && (epoch != s.pos.Epoch || off != s.pos.Offset+1) {
		return
	}
	if s.gapPending {
		s.gapPending = false
		a.gapAfter(s, s.gapFrom, epoch, off)
	}
	if !s.subscribed {
		s.recovered++
	} else if s.havePos && s.pos.Epoch != "" && epoch != s.pos.Epoch {
		a.gap(s, epoch, off)
	}
	s.pos, s.havePos = Position{Epoch: epoch, Offset: off}, true
	if isDeviceChannel(ch) {
		if s.subscribed {
			a.measure(p) // now: the events below hand it to the page
		}
		if t := a.cfg.Table; t != nil {
			if d, ok := t.Apply(p.Get("data")); ok {
				a.emit(Event{Kind: EvDevice, Channel: ch, Device: d})
			}
		}
	}
	a.emit(Event{Kind: EvPublication, Channel: ch, Epoch: epoch, Offset: off, Data: p})
}

// onLagged closes a gap: the server dropped publications, so re-subscribe
// with since = the last one delivered (PROTOCOL.md "stream" mode).
func (a *actor) onLagged(p Value) {
	ch := str(p, "channel")
	off, _ := num(p, "offset")
	a.emit(Event{Kind: EvLagged, Channel: ch, Offset: int64(off)})
	if s, ok := a.subs[ch]; ok && a.state == StateConnected {
		s.resync = s.havePos
		if !s.subscribed {
			// A subscribe is in flight (or its retry is scheduled): its
			// since is at or before what was delivered, so its answer
			// covers this lagged too. A second one would make the server
			// replace the first's subscription and drop the recovered
			// publications it queued, while the first answer still
			// arrives and moves the position past them.
			return
		}
		a.setSubState(s, SubSubscribing, 0, "lagged")
		a.sendSubscribe(s)
	}
}

// onUnsubscribed ends a subscription the server ended (a refreshed token no
// longer allows it): it is forgotten, not re-subscribed, and an error event
// says why.
func (a *actor) onUnsubscribed(p Value) {
	ch := str(p, "channel")
	s, ok := a.subs[ch]
	if !ok {
		return
	}
	delete(a.subs, ch)
	a.setSubState(s, SubUnsubscribed, CodePermissionDenied, "unsubscribed by the server: "+str(p, "reason"))
	s.fail(ErrUnsubscribed)
	a.emit(Event{Kind: EvError, Channel: ch, Err: &Error{Code: CodePermissionDenied, Message: "unsubscribed by the server: " + str(p, "reason")}})
}
