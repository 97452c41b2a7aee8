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
		b.StopTimer() // emptying the cache is not the capture's cost
		c.mu.Lock()
		c.cache = make(map[uintptr]frameInfo, 256)
		c.mu.Unlock()
		b.StartTimer()
		buf = coldCapture(buf)
	}
}
