package ingest

import (
	"net/url"
	"strings"
)

// redacted replaces a password wherever one would be shown.
const redacted = "REDACTED"

// RedactURL hides the password in a broker URL's user info
// ("tcp://user:REDACTED@host:1883"), for logs and messages. A URL that
// url.Parse refuses is redacted as text: everything between the first
// ':' of the user info and its last '@'.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return s
		}
		if _, has := u.User.Password(); !has {
			return s
		}
		u.User = url.UserPassword(u.User.Username(), redacted)
		return u.String()
	}
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, rest = s[:i+3], s[i+3:]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return s
	}
	return prefix + user + ":" + redacted + rest[at:]
}

// Redact replaces the password of rawURL, in its written and its decoded
// form, wherever it appears in text: errors from url.Parse and from the
// network quote the URL they were given.
func Redact(text, rawURL string) string {
	for _, pw := range urlPasswords(rawURL) {
		text = strings.ReplaceAll(text, pw, redacted)
	}
	return text
}

// redactErr is err's text with the password of rawURL hidden.
func redactErr(err error, rawURL string) string {
	if err == nil {
		return ""
	}
	return Redact(err.Error(), rawURL)
}

// urlPasswords returns the password of s's user info as written and as
// decoded, also for a URL url.Parse refuses; none when there is none.
func urlPasswords(s string) []string {
	var out []string
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if _, pw, ok := strings.Cut(rest[:at], ":"); ok && pw != "" {
			out = append(out, pw)
			if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
				out = append(out, dec)
			}
		}
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}
