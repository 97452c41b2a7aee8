package errutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// Middleware recovers a panic in next: the crash is reported (origin http,
// with method, path and status, and the request id when RequestIDs is
// outside it) and the client gets 500 with
// {"error":"internal","error_id":"..."}: never a stack or the panic text.
//
// http.ErrAbortHandler, bare or wrapped, is re-panicked bare for net/http
// (which only stays quiet for the sentinel itself), not reported.
//
// When the response had already started, a 500 could not reach the client
// intact, and returning would let net/http complete a cut body as a whole
// one (a 200 with a valid Content-Length). So after the report the
// middleware panics with http.ErrAbortHandler: net/http closes the
// connection (HTTP/2 resets the stream) without logging, and the client sees
// a failed transfer (also when the request had asked for a protocol upgrade
// the handler did not make). A request that asked for an upgrade gets no 500;
// a hijacked connection belongs to the handler and is left alone.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if isAbort(v) {
				panic(http.ErrAbortHandler)
			}
			status := http.StatusInternalServerError
			if rw.status != 0 {
				status = rw.status
			}
			r := report(v, OriginHTTP, func(r *Report) {
				r.HTTP = &HTTPInfo{Method: req.Method, Path: req.URL.Path, Status: status}
				r.RequestID = RequestID(req.Context())
			}, countRepeats)
			if r != nil {
				onRequestCrash(req.Context(), r)
			}
			if rw.hijacked {
				return // the connection is the handler's
			}
			if rw.status != 0 {
				panic(http.ErrAbortHandler) // after the report: the client must not take a cut body for a whole one
			}
			if isUpgrade(req) {
				return
			}
			id := "unknown"
			if r != nil {
				id = r.ErrorIDString()
			}
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"internal","error_id":"` + id + `"}` + "\n"))
		}()
		next.ServeHTTP(rw, req)
	})
}

func isUpgrade(req *http.Request) bool {
	for _, v := range req.Header.Values("Connection") {
		for _, token := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(token), "upgrade") {
				return true
			}
		}
	}
	return false
}

// trackingWriter remembers whether the response has started. Unwrap lets
// http.ResponseController reach the underlying writer's extras.
type trackingWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *trackingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush starts the response; a no-op when the writer cannot flush.
func (w *trackingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Hijack hands the connection over (websockets); errutil then writes nothing.
func (w *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("errutil: the response writer does not support hijacking")
	}
	w.hijacked = true
	return h.Hijack()
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// onRequestCrash calls Config.OnRequestCrash, if set; a panic in it is
// recovered and reported on stderr, never passed to the client's request.
func onRequestCrash(ctx context.Context, r *Report) {
	hook := loadState().cfg.OnRequestCrash
	if hook == nil {
		return
	}
	defer func() {
		if fault := recover(); fault != nil {
			fmt.Fprintf(os.Stderr, "errutil: OnRequestCrash panicked: %v\n", fault)
		}
	}()
	hook(ctx, r)
}
