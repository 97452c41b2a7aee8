package errutil

import (
	"context"
	"net/http"
)

// HeaderRequestID is the header that carries a request's id, in and out.
const HeaderRequestID = "X-Request-ID"

// maxRequestID bounds an incoming id: a longer one is replaced.
const maxRequestID = 128

type requestIDKey struct{}

// RequestIDs gives every request an id: the incoming X-Request-ID when it is
// at most 128 characters of [A-Za-z0-9._-], else a new UUIDv7 (an id from a
// client is logged, so anything else, newlines or quotes included, is
// replaced rather than cleaned). The id is set on the response before next
// runs, so every response carries it, Middleware's 500 included, and is in
// the request's context (RequestID), where Middleware puts it into the crash
// report as request_id. Put it outside Middleware and the access log.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			var fresh ErrorID
			fresh.fill()
			id = fresh.String()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, req.WithContext(WithRequestID(req.Context(), id)))
	})
}

// WithRequestID returns ctx carrying the request id id (RequestIDs does this;
// use it where another layer assigns the ids).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id in ctx, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether id can be passed on as it came: 1 to 128
// characters of [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !requestIDByte(id[i]) {
			return false
		}
	}
	return true
}

func requestIDByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '-'
}
