package valkey

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Config says how to reach Valkey (or Redis 7+).
type Config struct {
	// Addrs are host:port seeds: one for a standalone server, several for a
	// Valkey/Redis Cluster (found automatically), or the sentinels when
	// SentinelMaster is set. Required.
	Addrs []string
	// Username and Password authenticate (ACL); empty means none.
	Username, Password string
	// SentinelMaster names the master set; Addrs are then sentinels.
	SentinelMaster string
	// TLS connects with TLS using the system roots.
	TLS bool
	// KeyPrefix starts every key and pub/sub topic; default "mqlive:".
	KeyPrefix string
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// ErrNotConnected is returned while the first connection to Valkey has not
// been made.
var ErrNotConnected = errors.New("valkey: not connected")

// clientOption maps cfg to valkey-go's options.
func (cfg Config) clientOption() valkey.ClientOption {
	o := valkey.ClientOption{
		InitAddress: cfg.Addrs,
		Username:    cfg.Username,
		Password:    cfg.Password,
		// mqlive reads no key twice in a row: client-side caching would
		// only cost memory and RESP3 invalidation traffic.
		DisableCache:     true,
		ConnWriteTimeout: 5 * time.Second,
	}
	o.Dialer.Timeout = 3 * time.Second
	if cfg.SentinelMaster != "" {
		o.Sentinel = valkey.SentinelOption{MasterSet: cfg.SentinelMaster, Username: cfg.Username, Password: cfg.Password}
	}
	if cfg.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

// Dial connects to Valkey, retrying with exponential backoff and full
// jitter until it succeeds or ctx ends; every failed attempt is logged with
// what to check. valkey-go reconnects by itself after the first connection.
func Dial(ctx context.Context, cfg Config) (valkey.Client, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("valkey: no address configured (cluster.valkey.addrs)")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := valkey.NewClient(cfg.clientOption())
		if err == nil {
			if err = c.Do(ctx, c.B().Ping().Build()).Error(); err == nil {
				return c, nil
			}
			c.Close()
		}
		wait := rand.N(backoff) + time.Millisecond
		log.Warn("valkey unreachable; retrying (check cluster.valkey.addrs, credentials and that the server runs)",
			"addrs", cfg.Addrs, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("valkey: connect %v: %w", cfg.Addrs, ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
