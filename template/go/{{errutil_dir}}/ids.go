package errutil

import (
	"crypto/rand"
	"encoding/binary"
	mathrand "math/rand/v2"
	"sync"
	"time"
)

// ErrorID is a crash's id: a UUIDv7 (RFC 9562), 48 bits of Unix
// milliseconds, the version and variant bits, and 74 random bits. It is
// unique across a fleet (the 32-bit ids used before collided about a hundred
// times a day at a million crashes) and sorts by time. The Python errutil
// makes the same ids.
type ErrorID [16]byte

// fill makes id a new UUIDv7. It writes in place: a Report holds its id, so
// making one allocates nothing.
func (id *ErrorID) fill() {
	ms := uint64(time.Now().UnixMilli())
	var head [8]byte
	binary.BigEndian.PutUint64(head[:], ms<<16)
	copy(id[:6], head[:6])
	randomBytes(id[6:])
	id[6] = id[6]&0x0f | 0x70 // version 7
	id[8] = id[8]&0x3f | 0x80 // variant 10
}

// idRandom holds bytes from crypto/rand, read 64 ids' worth at a time: one
// read is a system call, as costly as much of the rest of a report.
var idRandom struct {
	mu  sync.Mutex
	buf [640]byte
	off int // bytes used
}

func init() { idRandom.off = len(idRandom.buf) }

// randomBytes fills dst (at most len(idRandom.buf) bytes) from crypto/rand.
func randomBytes(dst []byte) {
	idRandom.mu.Lock()
	defer idRandom.mu.Unlock()
	if idRandom.off+len(dst) > len(idRandom.buf) {
		if _, err := rand.Read(idRandom.buf[:]); err != nil {
			// crypto/rand does not fail on the systems Go supports; should
			// it, the runtime's generator still tells reports apart.
			for i := range idRandom.buf {
				idRandom.buf[i] = byte(mathrand.Uint32()) //nolint:gosec // G115, G404: an id, not a secret
			}
		}
		idRandom.off = 0
	}
	idRandom.off += copy(dst, idRandom.buf[idRandom.off:])
}

// IsZero reports whether id was never set (a repeat summary has none).
func (id ErrorID) IsZero() bool { return id == ErrorID{} }

// String is the canonical lowercase form: 0192f0c4-6b1e-7a3c-9d2e-5f1a2b3c4d5e.
func (id ErrorID) String() string {
	var b [36]byte
	return string(id.AppendTo(b[:0]))
}

// AppendTo appends the canonical form to b.
func (id ErrorID) AppendTo(b []byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

// MarshalText makes an ErrorID a string in JSON and in loggers.
func (id ErrorID) MarshalText() ([]byte, error) { return id.AppendTo(make([]byte, 0, 36)), nil }
