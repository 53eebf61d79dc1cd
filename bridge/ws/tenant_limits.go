package ws

import (
	"sync"

	"golang.org/x/time/rate"
)

// Values of mqlive_ws_limited_total's limit label.
const (
	limitTenantRate    = "tenant_rate"
	limitSubscriptions = "subscriptions"
)

// tenantLimits holds, per tenant with connections on this node, the
// request bucket its connections share and its connections per user. A
// tenant's entry lives while it has a connection here, so the map is
// bounded by the node's connections.
//
// Both limits are per node: a cluster-wide bucket or count would cost a
// backplane round trip on every request or connect, and presence tracks
// channel subscribers, not connections (README "Limits per tenant and per
// connection").
type tenantLimits struct {
	rate       rate.Limit // 0: no tenant request rate
	burst      int
	maxPerUser int // 0: no limit
	mu         sync.Mutex
	tenants    map[string]*tenantState
}

// tenantState is one tenant's share of the limits.
type tenantState struct {
	// limiter is the tenant's request bucket (safe for concurrent use);
	// nil without a tenant request rate.
	limiter *rate.Limiter
	conns   int            // guarded by tenantLimits.mu
	users   map[string]int // connections per user; guarded by tenantLimits.mu
}

func newTenantLimits(r float64, burst, maxPerUser int) *tenantLimits {
	return &tenantLimits{rate: rate.Limit(r), burst: burst, maxPerUser: maxPerUser, tenants: map[string]*tenantState{}}
}

// join counts a new connection of user in tenant and returns the
// tenant's state; ok is false, and nothing is counted, when the user
// already has maxPerUser connections on this node.
func (l *tenantLimits) join(tenant, user string) (ts *tenantState, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts = l.tenants[tenant]
	if ts == nil {
		ts = &tenantState{users: map[string]int{}}
		if l.rate > 0 {
			ts.limiter = rate.NewLimiter(l.rate, l.burst)
		}
		l.tenants[tenant] = ts
	}
	if l.maxPerUser > 0 && ts.users[user] >= l.maxPerUser {
		return nil, false // the user has a connection, so the entry is in use
	}
	ts.conns++
	ts.users[user]++
	return ts, true
}

// leave uncounts a connection join accepted.
func (l *tenantLimits) leave(tenant, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.tenants[tenant]
	if ts == nil {
		return
	}
	if ts.users[user]--; ts.users[user] <= 0 {
		delete(ts.users, user)
	}
	if ts.conns--; ts.conns <= 0 {
		delete(l.tenants, tenant)
	}
}
