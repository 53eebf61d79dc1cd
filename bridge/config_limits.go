package bridge

import "math"

// validateLimits checks the per-tenant, per-user and per-connection limits
// of http (README "Limits per tenant and per connection").
func (c *Config) validateLimits(v *validator) {
	h := &c.HTTP
	if r := h.TenantRequestRate; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		v.addf("http.tenant_request_rate", "%v must be a positive number of requests per second (0 means no tenant limit)", r)
	}
	v.nonNegative("http.tenant_request_burst", h.TenantRequestBurst)
	if h.TenantRequestBurst > 0 && h.TenantRequestRate == 0 {
		v.addf("http.tenant_request_burst", "is set without http.tenant_request_rate; set the rate too, or remove the burst")
	}
	v.nonNegative("http.max_connections_per_user", h.MaxConnectionsPerUser)
	v.nonNegative("http.max_subscriptions_per_connection", h.MaxSubscriptionsPerConnection)
	if t := h.MaxConnectionsPerTenant; t > 0 && h.MaxConnectionsPerUser > t {
		v.addf("http.max_connections_per_user", "%d is more than http.max_connections_per_tenant (%d); a user's connections count toward the tenant's", h.MaxConnectionsPerUser, t)
	}
}
