package auth

// MaxTenantBytes is the longest tenant id accepted.
const MaxTenantBytes = 64

// ValidTenant reports whether s is a well-formed tenant id: 1 to 64 bytes of
// [a-z0-9_-]. Tenant ids become metric labels, Valkey key segments and MQTT
// topic segments, so they are checked here once, for tokens and config alike.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > MaxTenantBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
