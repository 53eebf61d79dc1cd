package simulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultURL      = "tcp://127.0.0.1:1883"
	DefaultDevices  = 5
	DefaultInterval = 2 * time.Second
)

// Config configures a Simulator.
type Config struct {
	// URL is the broker: tcp://, mqtt://, ssl://, tls:// or mqtts://;
	// "" means DefaultURL. WebSocket brokers are not supported: churn
	// needs the raw connection to drop it without a DISCONNECT.
	URL string
	// Username and Password authenticate every device; empty means none.
	Username, Password string
	// Families lists the family ids to simulate; empty means every family
	// of the registry that implements devices.Sampler.
	Families []string
	// Devices is the number of devices per family; 0 means DefaultDevices.
	Devices int
	// Interval is each device's report interval; 0 means DefaultInterval.
	// The fleet publishes Devices*len(Families)/Interval rounds per second.
	Interval time.Duration
	// Rate, when positive, is the fleet's total telemetry rounds per
	// second; it sets Interval to (number of devices)/Rate, so a mixed
	// fleet of every family runs at a known load. 0 means use Interval.
	Rate float64
	// Seed makes device names and payload values reproducible (doc.go).
	Seed int64
	// Start, when set, stamps the k-th round of every device with
	// Start + k*Interval instead of the wall clock (doc.go).
	Start time.Time
	// Base maps a family id to its base topic; a missing family uses the
	// family's DefaultBase.
	Base map[string]string
	// Churn is the probability, per device and interval, that the device
	// drops offline abruptly (LWT) and comes back 1 to 5 intervals later;
	// 0 means never. Must be in [0, 1].
	Churn float64
	// Skew gives every device a fixed clock error drawn uniformly from
	// [-Skew, +Skew], applied to the timestamps it sends, to test that a
	// device's Readings never move it back in time; 0 means exact clocks.
	Skew time.Duration
	// Storm, when positive, makes the whole fleet drop offline abruptly at
	// once every Storm (an LWT storm, as after a power cut), each device
	// coming back 1 to 5 intervals later; 0 means never.
	Storm time.Duration
	// Bad is the probability, per device and interval, that the round is
	// replaced by a malformed payload; 0 means never. Must be in [0, 1].
	Bad float64
	// QoS is the QoS of telemetry: 0 (what devices use by default) or 1.
	// Births and LWTs always use QoS 1 so that availability is not lost.
	QoS byte
	// Count, when positive, stops each device after Count rounds; Run
	// returns once every device has stopped.
	Count int
	// Duration, when positive, stops the simulation after Duration.
	Duration time.Duration
	// Logger receives device events; nil means slog.Default().
	Logger *slog.Logger
}

// validate checks cfg and returns a copy with defaults filled in.
func (cfg Config) validate() (Config, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return cfg, fmt.Errorf("simulator: config: URL %q: %w", cfg.URL, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return cfg, fmt.Errorf("simulator: config: URL %q: scheme must be tcp, mqtt, ssl, tls or mqtts", cfg.URL)
	}
	if u.Host == "" {
		return cfg, fmt.Errorf("simulator: config: URL %q has no host", cfg.URL)
	}
	if cfg.Devices < 0 {
		return cfg, errors.New("simulator: config: devices must not be negative")
	}
	if cfg.Devices == 0 {
		cfg.Devices = DefaultDevices
	}
	if cfg.Interval < 0 {
		return cfg, errors.New("simulator: config: interval must not be negative")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Rate < 0 {
		return cfg, errors.New("simulator: config: rate must not be negative")
	}
	if cfg.Skew < 0 || cfg.Storm < 0 {
		return cfg, errors.New("simulator: config: skew and storm must not be negative")
	}
	if cfg.Churn < 0 || cfg.Churn > 1 {
		return cfg, fmt.Errorf("simulator: config: churn %v is not a probability in [0, 1]", cfg.Churn)
	}
	if cfg.Bad < 0 || cfg.Bad > 1 {
		return cfg, fmt.Errorf("simulator: config: bad %v is not a probability in [0, 1]", cfg.Bad)
	}
	if cfg.QoS > 1 {
		return cfg, fmt.Errorf("simulator: config: qos %d: want 0 or 1", cfg.QoS)
	}
	if cfg.Count < 0 || cfg.Duration < 0 {
		return cfg, errors.New("simulator: config: count and duration must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
