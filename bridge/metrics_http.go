package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
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

// sideServer serves a few plain net/http routes on a listener of their
// own: /metrics on http.metrics_addr, so that it can listen on a private
// interface while the dashboard port is public, and the profiler on
// http.pprof_addr.
type sideServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// listenSide binds addr at once, so a taken port fails New. key names the
// setting in errors.
func listenSide(key, addr string, mux *http.ServeMux) (*sideServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", key, addr, err)
	}
	return &sideServer{name: key, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}, nil
}

// listenMetrics serves h as GET /metrics on addr.
func listenMetrics(addr string, h http.Handler) (*sideServer, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return listenSide("http.metrics_addr", addr, mux)
}

// listenPprof serves net/http/pprof's /debug/pprof/ on addr, which
// validation keeps on loopback: profiles show code paths and heap
// contents, and a CPU profile costs CPU while it runs.
func listenPprof(addr string) (*sideServer, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return listenSide("http.pprof_addr", addr, mux)
}

// Run serves until ctx ends, then shuts down within 2 s.
func (m *sideServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", m.name, err)
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

// PprofAddr is the bound address of the profiler (http.pprof_addr), or ""
// when it is off.
func (b *Bridge) PprofAddr() string {
	if b.pprofSrv == nil {
		return ""
	}
	return b.pprofSrv.ln.Addr().String()
}
