package simulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/families"
)

// ErrAlreadyRun is returned by a second call to Run.
var ErrAlreadyRun = errors.New("simulator: already run")

// Device identifies one simulated device.
type Device struct {
	Family string
	Name   string
	Base   string
}

// Stats are the simulator's counters since New.
type Stats struct {
	Connects      uint64 // successful MQTT connections, reconnects included
	ConnectErrors uint64 // failed connection attempts
	Published     uint64 // messages the broker accepted (births included)
	PublishErrors uint64
	Drops         uint64 // churn: connections dropped without DISCONNECT
	Bad           uint64 // rounds replaced by a malformed payload
}

// Simulator is a fleet of simulated devices. Create it with New.
type Simulator struct {
	cfg      Config
	log      *slog.Logger
	idPrefix string
	devices  []*device
	ran      atomic.Bool

	warnedConnect atomic.Bool // the first connection failure was logged

	stormMu sync.Mutex
	storm   chan struct{} // closed when a storm starts; replaced after

	stats struct {
		connects, connectErrors, published, publishErrors, drops, bad atomic.Uint64
	}
}

// New validates cfg and names the fleet. reg supplies the families; nil
// means every shipped family (families.All).
func New(cfg Config, reg *devices.Registry) (*Simulator, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if reg == nil {
		if reg, err = devices.NewRegistry(families.All()...); err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
	}
	families := cfg.Families
	if len(families) == 0 {
		for _, f := range reg.Families() {
			h, _ := reg.Handler(f)
			if _, ok := h.(devices.Sampler); ok {
				families = append(families, f)
			}
		}
		if len(families) == 0 {
			return nil, errors.New("simulator: no family in the registry can simulate devices (none implements devices.Sampler)")
		}
	}
	for f := range cfg.Base {
		if _, ok := reg.Handler(f); !ok {
			return nil, fmt.Errorf("simulator: config: base given for unknown family %q", f)
		}
	}

	var id [3]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported platforms
	s := &Simulator{
		cfg: cfg,
		log: cfg.Logger.With("component", "simulator"),
		// Client ids differ between processes so that two simulators with
		// the same seed do not take over each other's sessions.
		idPrefix: "mqlive-sim-" + hex.EncodeToString(id[:]),
	}
	if cfg.Rate > 0 {
		s.cfg.Interval = time.Duration(float64(cfg.Devices*len(families)) / cfg.Rate * float64(time.Second))
		if s.cfg.Interval < time.Millisecond {
			return nil, fmt.Errorf("simulator: config: rate %v needs an interval under 1ms; add devices", cfg.Rate)
		}
	}
	seen := map[string]bool{}
	for _, f := range families {
		if seen[f] {
			return nil, fmt.Errorf("simulator: config: family %q listed twice", f)
		}
		seen[f] = true
		h, ok := reg.Handler(f)
		if !ok {
			return nil, fmt.Errorf("simulator: config: unknown family %q (known: %v)", f, reg.Families())
		}
		sampler, ok := h.(devices.Sampler)
		if !ok {
			return nil, fmt.Errorf("simulator: config: family %q cannot simulate devices (no devices.Sampler)", f)
		}
		base, ok := cfg.Base[f]
		if !ok {
			base = h.DefaultBase()
		}
		if err := devices.ValidBase(base); err != nil {
			return nil, fmt.Errorf("simulator: config: family %q: %w", f, err)
		}
		for i, name := range deviceNames(f, cfg.Devices, cfg.Seed) {
			s.devices = append(s.devices, newDevice(s, f, i, name, sampler, base))
		}
	}
	return s, nil
}

// Devices lists the fleet in a stable order (by family as configured, then
// by device index).
func (s *Simulator) Devices() []Device {
	out := make([]Device, len(s.devices))
	for i, d := range s.devices {
		out[i] = Device{Family: d.family, Name: d.name, Base: d.base}
	}
	return out
}

// Run runs the fleet until ctx is done, Config.Duration has passed, or
// every device has published Config.Count rounds. Devices leave politely
// (offline message, DISCONNECT); Run returns nil once all of them have.
func (s *Simulator) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Duration)
		defer cancel()
	}
	s.log.Info("simulator starting", "url", s.cfg.URL, "devices", len(s.devices),
		"interval", s.cfg.Interval, "seed", s.cfg.Seed, "churn", s.cfg.Churn, "bad", s.cfg.Bad)
	start := time.Now()
	var wg sync.WaitGroup
	for _, d := range s.devices {
		wg.Go(func() { d.run(ctx) })
	}
	if s.cfg.Storm > 0 {
		stormCtx, stop := context.WithCancel(ctx)
		defer stop()
		go s.storms(stormCtx)
	}
	wg.Wait()
	st := s.Stats()
	s.log.Info("simulator stopped", "elapsed", time.Since(start).Round(time.Millisecond),
		"published", st.Published, "connects", st.Connects, "drops", st.Drops, "bad", st.Bad,
		"publish_errors", st.PublishErrors, "connect_errors", st.ConnectErrors)
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Simulator) Stats() Stats {
	return Stats{
		Connects:      s.stats.connects.Load(),
		ConnectErrors: s.stats.connectErrors.Load(),
		Published:     s.stats.published.Load(),
		PublishErrors: s.stats.publishErrors.Load(),
		Drops:         s.stats.drops.Load(),
		Bad:           s.stats.bad.Load(),
	}
}

// stormSignal returns the channel that closes when the next storm starts.
func (s *Simulator) stormSignal() <-chan struct{} {
	s.stormMu.Lock()
	defer s.stormMu.Unlock()
	if s.storm == nil {
		s.storm = make(chan struct{})
	}
	return s.storm
}

// storms starts an LWT storm every Storm until ctx is done.
func (s *Simulator) storms(ctx context.Context) {
	t := time.NewTicker(s.cfg.Storm)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.log.Info("LWT storm: the whole fleet drops offline")
		s.stormMu.Lock()
		if s.storm != nil {
			close(s.storm)
		}
		s.storm = make(chan struct{})
		s.stormMu.Unlock()
	}
}
