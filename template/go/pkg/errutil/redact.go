package errutil

import (
	"regexp"
	"sort"
	"strings"
)

// Redaction: secrets in panic messages never reach a log line. Every message
// of a report (the panic's and its causes') is redacted before the report is
// logged or counted. What is replaced by [REDACTED], in this order (the same
// rules, and the same expressions, as the Python errutil's):
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
// Each rule runs only when a substring test says it could match, so a
// message without secrets costs a few substring scans and no allocation.

// Redacted replaces every secret.
const Redacted = "[REDACTED]"

// defaultRedactKeys are the words whose values are always redacted.
var defaultRedactKeys = []string{
	"password", "passwd", "secret", "token", "api_key", "apikey",
	"access_key", "authorization", "cookie", "session",
}

type redactRule struct {
	couldMatch  func(string) bool
	re          *regexp.Regexp
	replacement string
}

// redactor applies the rules; build one per configuration (compiling costs,
// applying does not).
type redactor struct {
	rules []redactRule
}

// The rules that do not depend on the configuration, compiled once.
var (
	pemRule = regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)`)
	jwtRule = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	awsRule = regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`)
	urlRule = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@`)
	// Bearer/Basic as written in lower, title or upper case (not "bEaReR").
	authRule = regexp.MustCompile(`\b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)[A-Za-z0-9._~+/=-]{8,}`)

	defaultRedactor = newRedactor(nil, nil)
)

func newRedactor(keys []string, patterns []*regexp.Regexp) *redactor {
	rules := []redactRule{
		{contains("-----BEGIN"), pemRule, Redacted},
		{contains("eyJ"), jwtRule, Redacted},
		{func(s string) bool { return strings.Contains(s, "AKIA") || strings.Contains(s, "ASIA") }, awsRule, Redacted},
		{contains("://"), urlRule, "${1}" + Redacted + "@"},
		{couldBeAuthScheme, authRule, "${1}${2}" + Redacted},
	}
	rules = append(rules, keyRules(append(append([]string(nil), defaultRedactKeys...), keys...))...)
	for _, re := range patterns {
		if re != nil {
			rules = append(rules, redactRule{func(string) bool { return true }, re, Redacted})
		}
	}
	return &redactor{rules: rules}
}

// keyRules are the key=value and "key": "value" rules for keys that contain
// one of words (longest first, so "api_key" wins over a shorter word).
func keyRules(words []string) []redactRule {
	seen := map[string]bool{}
	var quoted []string
	for _, w := range words {
		if w != "" && !seen[strings.ToLower(w)] {
			seen[strings.ToLower(w)] = true
			quoted = append(quoted, regexp.QuoteMeta(w))
		}
	}
	sort.SliceStable(quoted, func(i, j int) bool { return len(quoted[i]) > len(quoted[j]) })
	name := `[\w.-]*(?:` + strings.Join(quoted, "|") + `)[\w.-]*`
	double := regexp.MustCompile(`(?i)("` + name + `"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}\]]+)`)
	single := regexp.MustCompile(`(?i)('` + name + `'\s*:\s*)(?:'(?:[^'\\]|\\.)*'|[^\s,}\]]+)`)
	assign := regexp.MustCompile(`(?i)\b(` + name + `\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s&;,"']+)`)
	return []redactRule{
		{contains(`"`), double, `${1}"` + Redacted + `"`},
		{contains(`'`), single, `${1}'` + Redacted + `'`},
		{contains("="), assign, "${1}" + Redacted},
	}
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func couldBeAuthScheme(s string) bool {
	return strings.Contains(s, "earer") || strings.Contains(s, "asic") ||
		strings.Contains(s, "EARER") || strings.Contains(s, "ASIC")
}

// apply returns s with every secret the rules know replaced by [REDACTED].
func (r *redactor) apply(s string) string {
	if r == nil {
		r = defaultRedactor
	}
	for i := range r.rules {
		rule := &r.rules[i]
		if rule.couldMatch(s) {
			s = rule.re.ReplaceAllString(s, rule.replacement)
		}
	}
	return s
}

// Redact returns s with the secrets the configured rules know replaced by
// [REDACTED]: what errutil does to every message it logs, for other text a
// service logs (an access log line, say).
func Redact(s string) string { return loadState().redact.apply(s) }
