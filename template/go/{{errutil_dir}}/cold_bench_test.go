package errutil

import "testing"

//go:noinline
func coldDeep(n int) {
	if n == 0 {
		panic("boom")
	}
	coldDeep(n - 1)
}

func coldCapture(buf []byte) (out []byte) {
	defer func() {
		out = Capture(recover(), OriginTest).AppendText(buf[:0])
	}()
	coldDeep(5)
	return nil
}

// BenchmarkCaptureColdCache is the first crash at a stack: every frame is
// resolved with runtime.CallersFrames and classified (later crashes at the
// same PCs hit the cache, which BenchmarkCaptureAndFormat measures).
func BenchmarkCaptureColdCache(b *testing.B) {
	c := classifierFor()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		// Emptying the cache is timed too (a few ns for a stack's worth of
		// entries): b.StopTimer per iteration would cost far more than a
		// capture, as it reads the memory statistics.
		c.mu.Lock()
		clear(c.cache)
		c.mu.Unlock()
		buf = coldCapture(buf)
	}
}

// ColdCaptureBenchmark lets the ratio test of package errutil_test (make
// bench) report the first-crash case next to the repeated one.
var ColdCaptureBenchmark = BenchmarkCaptureColdCache
