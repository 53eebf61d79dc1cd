package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler is the /metrics handler of reg. With a token it answers
// only requests carrying "Authorization: Bearer <token>" (RFC 6750 §2.1),
// 401 otherwise: the metrics name every tenant and show its activity.
func metricsHandler(reg *prometheus.Registry, token string) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	if token == "" {
		return h
	}
	// Compare digests, so the time taken says nothing about the token.
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mqlive metrics"`)
			http.Error(w, "unauthorized: /metrics needs the http.metrics_token bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsServer serves /metrics alone on http.metrics_addr, so that it
// can listen on a private interface while the dashboard port is public.
type metricsServer struct {
	ln  net.Listener
	srv *http.Server
}

// listenMetrics binds addr at once, so a taken port fails New.
func listenMetrics(addr string, h http.Handler) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.metrics_addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return &metricsServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}, nil
}

// Run serves until ctx ends, then shuts down within 2 s.
func (m *metricsServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := m.srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// MetricsAddr is the bound address of the separate /metrics listener
// (http.metrics_addr), or "" when /metrics is served on HTTPAddr.
func (b *Bridge) MetricsAddr() string {
	if b.metricsSrv == nil {
		return ""
	}
	return b.metricsSrv.ln.Addr().String()
}
