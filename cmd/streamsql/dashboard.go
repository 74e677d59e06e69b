package main

import (
	"net/http"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/dashboard"
)

// mountDashboard serves the dashboard on the HTTP listener's mux: the page
// at / and its JSON under /api/. The listener's own paths (/metrics,
// /healthz, /readyz) are more specific patterns and win over "/".
func mountDashboard(mux *http.ServeMux, e *streamsql.Engine) {
	mux.Handle("/", dashboard.Handler(e))
}
