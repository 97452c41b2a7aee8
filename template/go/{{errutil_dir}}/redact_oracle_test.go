package errutil

import (
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The redaction rules as the Python errutil writes them (regular
// expressions, applied in this order): the oracle the Go scanners must agree
// with on any input.
type oracleRule struct {
	re          *regexp.Regexp
	replacement string
}

func oracleRules(keys []string, patterns []*regexp.Regexp) []oracleRule {
	words := map[string]bool{}
	var quoted []string
	for _, k := range append(append([]string(nil), defaultRedactKeys...), keys...) {
		if !words[strings.ToLower(k)] {
			words[strings.ToLower(k)] = true
			quoted = append(quoted, regexp.QuoteMeta(k))
		}
	}
	sort.SliceStable(quoted, func(i, j int) bool { return len(quoted[i]) > len(quoted[j]) })
	name := `[\w.-]*(?:` + strings.Join(quoted, "|") + `)[\w.-]*`
	rules := []oracleRule{
		{regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)`), Redacted},
		{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), Redacted},
		{regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`), Redacted},
		{regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@`), "${1}" + Redacted + "@"},
		{regexp.MustCompile(`\b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}${2}" + Redacted},
		{regexp.MustCompile(`(?i)("` + name + `"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}\]]+)`), `${1}"` + Redacted + `"`},
		{regexp.MustCompile(`(?i)('` + name + `'\s*:\s*)(?:'(?:[^'\\]|\\.)*'|[^\s,}\]]+)`), `${1}'` + Redacted + `'`},
		{regexp.MustCompile(`(?i)\b(` + name + `\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s&;,"']+)`), "${1}" + Redacted},
	}
	for _, re := range patterns {
		rules = append(rules, oracleRule{re, Redacted})
	}
	return rules
}

func oracle(rules []oracleRule, s string) string {
	for _, r := range rules {
		s = r.re.ReplaceAllString(s, r.replacement)
	}
	return s
}

// redactPieces are what random messages are made of: the rules' own
// characters and words, in every case, near misses included.
var redactPieces = []string{
	" ", "  ", "\t", "\n", "=", " = ", ":", ": ", "\"", "'", "&", ";", ",", "}", "]", ".", "-", "_", "/", "?", "#", "@", "\\",
	"password", "PASSWORD", "Passwd", "secret", "token", "api_key", "APIKEY", "access_key", "authorization", "cookie", "session", "tok",
	"db_", "x.", "client_", "Bearer", "bearer", "BEARER", "Basic", "basic", "bAsic", "abcdefgh12345678", "abc", "dXNlcjpwYXNz==",
	"eyJ", "eyJhbGci", "eyJzdWIi", "c2ln", "AKIA", "ASIA", "IOSFODNN7EXAMPLE", "X", "9", "http", "postgres", "://", "user:pass", "h.com",
	"-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "MIIE", "é", "K",
}

func randomMessage(rng *rand.Rand) string {
	var b strings.Builder
	for n := rng.IntN(12); n >= 0; n-- {
		b.WriteString(redactPieces[rng.IntN(len(redactPieces))])
	}
	return b.String()
}

func TestRedactionAgreesWithTheRules(t *testing.T) {
	custom := []*regexp.Regexp{regexp.MustCompile(`order-[0-9]+`)}
	for _, tc := range []struct {
		name     string
		keys     []string
		patterns []*regexp.Regexp
	}{
		{"default", nil, nil},
		{"custom key", []string{"Pin", "X_Auth"}, custom},
		{"key with a dash", []string{"x-api-key"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rules := newRedactor(tc.keys, tc.patterns), oracleRules(tc.keys, tc.patterns)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 5000; i++ {
				s := randomMessage(rng)
				if got, want := r.apply(s), oracle(rules, s); got != want {
					t.Fatalf("redact(%q)\n got %q\nwant %q", s, got, want)
				}
			}
		})
	}
}

func FuzzRedaction(f *testing.F) {
	for _, s := range []string{"password=x", "a://b:c@d", "Bearer abcdefgh1", "eyJa.eyJb.c", "AKIAIOSFODNN7EXAMPLE", `{"token": "x"}`} {
		f.Add(s)
	}
	rules := oracleRules(nil, nil)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := defaultRedactor.apply(s), oracle(rules, s); got != want {
			t.Fatalf("redact(%q)\n got %q\nwant %q", s, got, want)
		}
	})
}

func TestRedactionInAReport(t *testing.T) {
	errutil := Config{RedactKeys: []string{"pin"}, RedactPatterns: []*regexp.Regexp{regexp.MustCompile(`order-[0-9]+`)}, Sink: SinkFunc(func(*Report) {})}
	Configure(errutil)
	t.Cleanup(func() { Configure(Config{}) })
	r := func() (r *Report) {
		defer func() { r = Capture(recover(), OriginTest) }()
		panic(&wrapped{msg: "login pin=1234 for order-77 failed", err: &wrapped{msg: "dial postgres://app:s3cret@db"}})
	}()
	if r.Error.Message != "login pin=[REDACTED] for [REDACTED] failed" {
		t.Fatalf("message %q", r.Error.Message)
	}
	if r.Cause == nil || r.Cause.Error.Message != "dial postgres://[REDACTED]@db" {
		t.Fatalf("cause %+v", r.Cause)
	}
	if text := r.Text(); strings.Contains(text, "1234") || strings.Contains(text, "s3cret") || strings.Contains(text, "order-77") {
		t.Fatalf("a secret reached the text:\n%s", text)
	}
	if Redact("token=abc") != "token=[REDACTED]" {
		t.Fatal("Redact does not use the rules")
	}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
