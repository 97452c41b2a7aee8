package errutil

import (
	"regexp"
	"sort"
	"strings"
)

// Redaction: secrets in panic messages never reach a log line. Every message
// of a report (the panic's and its causes') is redacted before the report is
// logged or counted. What is replaced by [REDACTED], in this order (the same
// rules as the Python errutil's, written there as regular expressions that
// redact_oracle_test.go checks these scanners against):
//
//   - PEM private key blocks (-----BEGIN ... PRIVATE KEY----- to its END line,
//     or to the end of a cut message);
//   - JSON Web Tokens (eyJ...eyJ...) and AWS access key ids (AKIA/ASIA + 16);
//   - URL userinfo: scheme://user:pass@host becomes scheme://[REDACTED]@host;
//   - Bearer/Basic credentials of 8 characters or more;
//   - "key": "value", 'key': 'value' and key=value where the key contains one
//     of the secret words (password, passwd, secret, token, api_key, apikey,
//     access_key, authorization, cookie, session, and Config.RedactKeys);
//   - whatever matches one of Config.RedactPatterns.
//
// Go's regexp has no lazy DFA: an expression that starts with \b or (?i)
// walks every position of the message, some 50 µs for a 100-byte message
// with three secrets. So the rules that would start that way are small
// scanners, and each rule runs only when a substring test says it could
// match: a message without secrets costs a few substring scans and no
// allocation.

// Redacted replaces every secret.
const Redacted = "[REDACTED]"

// defaultRedactKeys are the words whose values are always redacted.
var defaultRedactKeys = []string{
	"password", "passwd", "secret", "token", "api_key", "apikey",
	"access_key", "authorization", "cookie", "session",
}

type redactRule struct {
	couldMatch func(string) bool
	replace    func(string) string
}

// redactor applies the rules; build one per configuration.
type redactor struct {
	rules []redactRule
}

var (
	// pemRule starts with a literal, which regexp finds fast.
	pemRule = regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)`)

	defaultRedactor = newRedactor(nil, nil)
)

func newRedactor(keys []string, patterns []*regexp.Regexp) *redactor {
	rules := []redactRule{
		{contains("-----BEGIN"), func(s string) string { return pemRule.ReplaceAllLiteralString(s, Redacted) }},
		{contains("eyJ"), redactJWTs},
		{func(s string) bool { return strings.Contains(s, "AKIA") || strings.Contains(s, "ASIA") }, redactAWSKeys},
		{contains("://"), redactUserinfo},
		{couldBeAuthScheme, redactAuthSchemes},
	}
	rules = append(rules, keyRules(append(append([]string(nil), defaultRedactKeys...), keys...))...)
	for _, re := range patterns {
		if re != nil {
			rules = append(rules, redactRule{func(string) bool { return true }, func(s string) string { return re.ReplaceAllLiteralString(s, Redacted) }})
		}
	}
	return &redactor{rules: rules}
}

// apply returns s with every secret the rules know replaced by [REDACTED].
func (r *redactor) apply(s string) string {
	if r == nil {
		r = defaultRedactor
	}
	for i := range r.rules {
		if r.rules[i].couldMatch(s) {
			s = r.rules[i].replace(s)
		}
	}
	return s
}

// Redact returns s with the secrets the configured rules know replaced by
// [REDACTED]: what errutil does to every message it logs, for other text a
// service logs.
func Redact(s string) string { return loadState().redact.apply(s) }

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func couldBeAuthScheme(s string) bool {
	return strings.Contains(s, "earer") || strings.Contains(s, "asic") ||
		strings.Contains(s, "EARER") || strings.Contains(s, "ASIC")
}

// Character classes, ASCII only (as the Python rules are).
func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// boundaryBefore reports whether a word starting at i starts a word (\b).
func boundaryBefore(s string, i int) bool { return i == 0 || !isWord(s[i-1]) }

// run counts the bytes of s from i on for which in is true.
func run(s string, i int, in func(byte) bool) int {
	n := 0
	for i+n < len(s) && in(s[i+n]) {
		n++
	}
	return n
}

// edit builds a redacted copy only once something is replaced.
type edit struct {
	s    string
	b    []byte
	last int
}

func (e *edit) replace(from, to int) {
	e.b = append(e.b, e.s[e.last:from]...)
	e.b = append(e.b, Redacted...)
	e.last = to
}

func (e *edit) result() string {
	if e.b == nil {
		return e.s
	}
	return string(append(e.b, e.s[e.last:]...))
}

// redactEach is the one loop of every scanner: next finds the next place a
// secret could start (an anchor: "eyJ", "://", '='...) in the rest of s, or
// -1; match decides whether one is there, given the anchor at and the end
// of the last replacement from, and returns the bytes to replace. The scan
// goes on past a replacement, or past an anchor that matched nothing.
func redactEach(s string, next func(string) int, match func(s string, from, at int) (start, end int, ok bool)) string {
	e := edit{s: s}
	for i := 0; ; {
		j := next(s[i:])
		if j < 0 {
			return e.result()
		}
		at := i + j
		start, end, ok := match(s, i, at)
		if !ok {
			i = at + 1
			continue
		}
		e.replace(start, end)
		i = end
	}
}

func isJWTChar(c byte) bool { return isWord(c) || c == '-' }

// redactJWTs: \beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*
func redactJWTs(s string) string { return redactEach(s, nextJWT, jwtAt) }

func nextJWT(s string) int { return strings.Index(s, "eyJ") }

func jwtAt(s string, _, p int) (start, end int, ok bool) {
	if !boundaryBefore(s, p) {
		return 0, 0, false
	}
	q := p + 3
	n := run(s, q, isJWTChar)
	if n == 0 || q+n >= len(s) || s[q+n] != '.' || !strings.HasPrefix(s[q+n+1:], "eyJ") {
		return 0, 0, false
	}
	q += n + 4
	n = run(s, q, isJWTChar)
	if n == 0 || q+n >= len(s) || s[q+n] != '.' {
		return 0, 0, false
	}
	q += n + 1
	return p, q + run(s, q, isJWTChar), true
}

func isUpperOrDigit(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// redactAWSKeys: \b(?:AKIA|ASIA)[A-Z0-9]{16}\b
func redactAWSKeys(s string) string { return redactEach(s, nextAWSKey, awsKeyAt) }

func nextAWSKey(s string) int { return strings.IndexByte(s, 'A') }

func awsKeyAt(s string, _, p int) (start, end int, ok bool) {
	if !strings.HasPrefix(s[p:], "AKIA") && !strings.HasPrefix(s[p:], "ASIA") {
		return 0, 0, false
	}
	end = p + 20
	if !boundaryBefore(s, p) || end > len(s) || run(s[:end], p+4, isUpperOrDigit) != 16 || (end < len(s) && isWord(s[end])) {
		return 0, 0, false
	}
	return p, end, true
}

func isSchemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'
}

func isUserinfoChar(c byte) bool {
	return !isSpace(c) && c != '/' && c != '?' && c != '#' && c != '@'
}

// redactUserinfo: \b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@ keeps the scheme
// and the @, redacts the user and password between.
func redactUserinfo(s string) string { return redactEach(s, nextSchemeEnd, userinfoAt) }

func nextSchemeEnd(s string) int { return strings.Index(s, "://") }

func userinfoAt(s string, from, c int) (start, end int, ok bool) {
	if !schemeEndsAt(s, from, c) {
		return 0, 0, false
	}
	q := c + 3
	n := run(s, q, isUserinfoChar)
	if n == 0 || q+n >= len(s) || s[q+n] != '@' {
		return 0, 0, false
	}
	return q, q + n, true
}

// schemeEndsAt reports whether a scheme ([A-Za-z][A-Za-z0-9+.-]*, starting
// a word) ends at c, starting no earlier than from.
func schemeEndsAt(s string, from, c int) bool {
	start := c
	for start > from && isSchemeChar(s[start-1]) {
		start--
	}
	for p := start; p < c; p++ {
		if (s[p] >= 'a' && s[p] <= 'z' || s[p] >= 'A' && s[p] <= 'Z') && boundaryBefore(s, p) {
			return true
		}
	}
	return false
}

func isCredentialChar(c byte) bool {
	return isWord(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-'
}

var authSchemes = []string{"Bearer", "bearer", "BEARER", "Basic", "basic", "BASIC"}

// redactAuthSchemes: \b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)[A-Za-z0-9._~+/=-]{8,}
func redactAuthSchemes(s string) string { return redactEach(s, nextAuthScheme, credentialAt) }

func nextAuthScheme(s string) int { return strings.IndexAny(s, "Bb") }

func credentialAt(s string, _, p int) (start, end int, ok bool) {
	if !boundaryBefore(s, p) {
		return 0, 0, false
	}
	for _, scheme := range authSchemes {
		if !strings.HasPrefix(s[p:], scheme) {
			continue
		}
		q := p + len(scheme)
		spaces := run(s, q, isSpace)
		n := run(s, q+spaces, isCredentialChar)
		if spaces > 0 && n >= 8 {
			return q + spaces, q + spaces + n, true
		}
		break
	}
	return 0, 0, false
}

// keyRules are the "key": "value", 'key': 'value' and key=value rules for
// keys that contain one of words.
func keyRules(words []string) []redactRule {
	seen := map[string]bool{}
	var lower, quoted []string
	plain := true // every word is [A-Za-z0-9_]: the key=value scanner applies
	for _, w := range words {
		l := strings.ToLower(w)
		if w == "" || seen[l] {
			continue
		}
		seen[l] = true
		lower = append(lower, l)
		quoted = append(quoted, regexp.QuoteMeta(w))
		plain = plain && run(w, 0, isWord) == len(w)
	}
	sort.SliceStable(quoted, func(i, j int) bool { return len(quoted[i]) > len(quoted[j]) })
	name := `[\w.-]*(?:` + strings.Join(quoted, "|") + `)[\w.-]*`
	double := regexp.MustCompile(`(?i)("` + name + `"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}\]]+)`)
	single := regexp.MustCompile(`(?i)('` + name + `'\s*:\s*)(?:'(?:[^'\\]|\\.)*'|[^\s,}\]]+)`)
	hasKey := func(s string) bool { return containsAnyFold(s, lower) }
	for _, l := range lower {
		if strings.IndexFunc(l, func(r rune) bool { return r >= 0x80 }) >= 0 {
			hasKey = func(string) bool { return true } // (?i) folds beyond ASCII: let the expressions decide
		}
	}
	assign := func(s string) string { return redactAssignments(s, lower) }
	if !plain {
		re := regexp.MustCompile(`(?i)\b(` + name + `\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s&;,"']+)`)
		assign = func(s string) string { return re.ReplaceAllString(s, "${1}"+Redacted) }
	}
	return []redactRule{
		{func(s string) bool { return strings.Contains(s, `"`) && hasKey(s) }, func(s string) string { return double.ReplaceAllString(s, `${1}"`+Redacted+`"`) }},
		{func(s string) bool { return strings.Contains(s, `'`) && hasKey(s) }, func(s string) string { return single.ReplaceAllString(s, `${1}'`+Redacted+`'`) }},
		{func(s string) bool { return strings.Contains(s, "=") && hasKey(s) }, assign},
	}
}

func isKeyChar(c byte) bool { return isWord(c) || c == '.' || c == '-' }

func isBareValueChar(c byte) bool {
	return !isSpace(c) && c != '&' && c != ';' && c != ',' && c != '"' && c != '\''
}

// redactAssignments: \b([\w.-]*(?:words)[\w.-]*\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s&;,"']+)
// ignoring case, for words of word characters only. Each match has one '=':
// the key is the run of [\w.-] before it (and spaces), so the scanner goes
// from '=' to '='.
func redactAssignments(s string, words []string) string {
	return redactEach(s, nextEquals, func(s string, from, eq int) (start, end int, ok bool) {
		return assignedValueAt(s, from, eq, words)
	})
}

func nextEquals(s string) int { return strings.IndexByte(s, '=') }

// assignedValueAt is the value after the '=' at eq when the key before it
// (no earlier than from) contains one of words.
func assignedValueAt(s string, from, eq int, words []string) (start, end int, ok bool) {
	keyEnd := eq
	for keyEnd > from && isSpace(s[keyEnd-1]) {
		keyEnd--
	}
	keyStart := keyEnd
	for keyStart > from && isKeyChar(s[keyStart-1]) {
		keyStart--
	}
	if keyStart == keyEnd || !containsAnyFold(s[keyStart:keyEnd], words) {
		return 0, 0, false
	}
	v := eq + 1 + run(s, eq+1, isSpace)
	switch {
	case v < len(s) && (s[v] == '"' || s[v] == '\''):
		if k := strings.IndexByte(s[v+1:], s[v]); k >= 0 {
			return v, v + 1 + k + 1, true
		}
	default:
		if n := run(s, v, isBareValueChar); n > 0 {
			return v, v + n, true
		}
	}
	return 0, 0, false
}

// containsAnyFold reports whether s contains one of words (lower case),
// ignoring ASCII case.
func containsAnyFold(s string, words []string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		for _, w := range words {
			if w[0] == c && len(s)-i >= len(w) && equalFoldASCII(s[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
