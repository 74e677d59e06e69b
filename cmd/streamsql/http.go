package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamsql/streamsql"
)

// defaultHTTPListen is --http-listen's default: loopback, like --listen,
// so that metrics and the dashboard are not open to the network unless
// asked for.
const defaultHTTPListen = "127.0.0.1:4568"

// newHTTPMux returns the handlers of the HTTP listener: /metrics
// (Prometheus), /healthz, /readyz, and whatever mountDashboard adds.
func newHTTPMux(eng *streamsql.Engine, log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(eng.Metrics(), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	// The process is up, or it could not answer.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ready, reasons := eng.Health()
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(reasons, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mountDashboard(mux, eng)
	return mux
}

// httpServer is the running HTTP listener.
type httpServer struct {
	srv  *http.Server
	addr net.Addr
	done chan error
}

// startHTTP listens on addr and serves the mux; a bind error names the
// address and the flag that chose it.
func startHTTP(addr string, eng *streamsql.Engine, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-listen %s: %w (choose another address, or --http-listen '' for none)", addr, err)
	}
	h := &httpServer{
		srv: &http.Server{Handler: newHTTPMux(eng, log), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		addr: ln.Addr(),
		done: make(chan error, 1),
	}
	go func() {
		err := h.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		h.done <- err
	}()
	log.Info("serving metrics and health over HTTP", "addr", "http://"+h.addr.String()+"/metrics")
	return h, nil
}

// shutdown stops the listener, letting requests in flight end within ctx.
func (h *httpServer) shutdown(ctx context.Context) error {
	if err := h.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return <-h.done
}
