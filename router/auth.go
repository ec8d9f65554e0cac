package router

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// BearerAuth returns h behind a bearer token: a request without the header
// "Authorization: Bearer <token>" is answered 401 with a WWW-Authenticate header. The
// comparison takes the same time whatever the token. An empty token returns h unchanged.
// Prometheus sends the header with `authorization: {credentials: <token>}` (or
// bearer_token) in its scrape config.
func BearerAuth(token string, h http.Handler) http.Handler {
	return bearerAuth(token, h, nil)
}

// bearerAuth is BearerAuth calling denied, when not nil, before a 401 answer.
func bearerAuth(token string, h http.Handler, denied func(http.ResponseWriter)) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			if denied != nil {
				denied(w)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="kfbot"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <the metrics token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
