// Command scenario runs one crash scenario of a rendered Go service, with errutil
// ("ours") or as plain Go would ("default").
//
//	scenario MODE SCENARIO [PORT]    MODE: default | ours; SCENARIO: http | goroutine | main
package main

import (
	"net/http"
	"os"
	"time"

	"__MODULE__/internal/orders"
	"__MODULE__/pkg/errutil"
)

func orderHandler(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte(orders.Lookup(5)))
}

func orderWorker() {
	_ = orders.Lookup(5)
}

func runOrders() {
	_ = orders.Lookup(5)
}

func main() {
	mode, scenario := os.Args[1], os.Args[2]
	ours := mode == "ours"
	if ours {
		defer errutil.Recover()
		errutil.Configure(errutil.Config{Sink: errutil.TextSink(os.Stderr)})
	}
	switch scenario {
	case "http":
		var handler http.Handler = http.HandlerFunc(orderHandler)
		if ours {
			handler = errutil.Middleware(handler)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {})
		mux.Handle("/orders", handler)
		server := &http.Server{Addr: "127.0.0.1:" + os.Args[3], Handler: mux, ReadHeaderTimeout: time.Second}
		_ = server.ListenAndServe()
	case "goroutine":
		if ours {
			var g errutil.Group // Wait returns once the report is written
			g.Go(orderWorker)
			_ = g.Wait()
		} else {
			go orderWorker()
			select {} // the panic ends the process
		}
	case "main":
		runOrders()
	}
}
