package ws

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/wire"
)

// The admin API lets a tenant's back end push to its dashboards and sign
// users out. Every call needs "Authorization: Bearer <JWT>" whose api
// claim names the operation ("publish", "signout", "revoke", "nodes"); the
// admin claim (the monitor channel) grants none of them. The tenant is the
// token's, as on the WebSocket, and the token is refused after a
// revocation or its user's sign-out, as on the WebSocket.

type adminPublish struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

type adminSignOut struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
}

func (s *Server) adminRoutes() {
	api := s.app.Group("/api/v1", s.adminAuth)
	api.Post("/publish", apiScope(auth.APIPublish), s.adminPublish)
	api.Post("/signout", apiScope(auth.APISignOut), s.adminSignOut)
	api.Post("/revoke", apiScope(auth.APIRevoke), s.adminRevoke)
	api.Get("/nodes", apiScope(auth.APINodes), s.adminNodes)
}

// apiScope refuses tokens whose api claim lacks op.
func apiScope(op string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !c.Locals("identity").(*auth.Identity).CanAPI(op) {
			return fiber.NewError(fiber.StatusForbidden, `admin API: token's api claim lacks "`+op+`"`)
		}
		return c.Next()
	}
}

func (s *Server) adminAuth(c *fiber.Ctx) error {
	if !s.installed.Load() {
		return fiber.NewError(fiber.StatusServiceUnavailable, "node is starting: its backplane is not reachable yet; retry")
	}
	h := c.Get(fiber.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="mqlive"`)
		return fiber.NewError(fiber.StatusUnauthorized, "admin API: send Authorization: Bearer <admin JWT>")
	}
	id, err := s.cfg.Verifier.Verify(tok)
	if err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return fiber.NewError(fiber.StatusUnauthorized, "admin API: token expired")
		}
		return fiber.NewError(fiber.StatusUnauthorized, "admin API: invalid token")
	}
	c2 := s.cfg.Control
	if c2 != nil && id.ID != "" && c2.Revoked(revocationKey(id.Tenant, id.ID)) {
		return fiber.NewError(fiber.StatusUnauthorized, "admin API: token revoked")
	}
	if s.signedOut(id) {
		return fiber.NewError(fiber.StatusUnauthorized, "admin API: "+msgSignedOut)
	}
	c.Locals("identity", id)
	return c.Next()
}

// adminPublish appends data to a user: or app: channel of the token's
// tenant, like a client publish: the one path by which a back end pushes
// to every session of one user.
func (s *Server) adminPublish(c *fiber.Ctx) error {
	id := c.Locals("identity").(*auth.Identity)
	var p adminPublish
	if err := json.Unmarshal(c.Body(), &p); err != nil || len(p.Data) == 0 {
		return fiber.NewError(fiber.StatusBadRequest, `body must be {"channel":"user:<id>"|"app:<name>","data":<JSON>}`)
	}
	ch, err := wire.ParseChannel(p.Channel)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	if ch.Kind != wire.KindApp && ch.Kind != wire.KindUser {
		return fiber.NewError(fiber.StatusBadRequest, "only app: and user: channels accept publish")
	}
	// The same pub check as a WebSocket publish.
	if !id.CanPublish(ch.Name) {
		return fiber.NewError(fiber.StatusForbidden, "admin API: token's pub claim does not allow "+truncate(ch.Name, 64))
	}
	off, perr := s.publish(c.UserContext(), id.Tenant, ch, p.Data)
	if perr != nil {
		s.cfg.Logger.Warn("admin publish failed", "tenant", id.Tenant, "channel", ch.Name, "err", perr)
		return fiber.NewError(fiber.StatusServiceUnavailable, "publish failed: the node cannot reach its backplane; retry")
	}
	return c.JSON(wire.PublishResult{Offset: off})
}

// adminSignOut closes every session of a user in the token's tenant with
// 4003, which tells clients not to reconnect (PROTOCOL.md close codes), and
// refuses the user's tokens issued until now, cluster-wide, at connect and
// refresh: the sign-out is kept for the longest token lifetime.
func (s *Server) adminSignOut(c *fiber.Ctx) error {
	id := c.Locals("identity").(*auth.Identity)
	var p adminSignOut
	if err := json.Unmarshal(c.Body(), &p); err != nil || p.User == "" {
		return fiber.NewError(fiber.StatusBadRequest, `body must be {"user":"<sub>","reason":"…"}`)
	}
	if p.Reason == "" {
		p.Reason = "signed out by admin"
	}
	reason := truncate(p.Reason, 100)
	// Record first, close second: a session closed here cannot reconnect
	// with its token in between. The local sessions are closed even when
	// the other nodes cannot be told (the caller retries).
	now := time.Now().UTC()
	m := cluster.ControlMessage{Kind: cluster.ControlSignOut, Tenant: id.Tenant, User: p.User, Reason: reason,
		NotBefore: now, Until: now.Add(s.signOutKept())}
	err := s.sendControl(c, m)
	n := s.SignOut(id.Tenant, p.User, reason)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"sessions": n, "not_before": now})
}

// signOutKept is how long a sign-out is kept: the longest a token issued
// before it can be valid (the lifetime cap plus the clock leeway), or
// maxRevocation when the lifetime is not capped.
func (s *Server) signOutKept() time.Duration {
	v := s.cfg.Verifier
	if v == nil || v.MaxLifetime() == 0 {
		return maxRevocation
	}
	return v.MaxLifetime() + v.Leeway() + time.Second // iat has whole seconds
}

type adminRevoke struct {
	JTI    string    `json:"jti"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// maxRevocation bounds how long a revocation is kept: longer than any
// token an operator should issue.
const maxRevocation = 30 * 24 * time.Hour

// adminRevoke refuses the token with the given jti cluster-wide until the
// given time (default: 24 h from now; set it to the token's exp) and
// closes every session that uses it with 4003.
func (s *Server) adminRevoke(c *fiber.Ctx) error {
	id := c.Locals("identity").(*auth.Identity)
	var p adminRevoke
	if err := json.Unmarshal(c.Body(), &p); err != nil || p.JTI == "" {
		return fiber.NewError(fiber.StatusBadRequest, `body must be {"jti":"<token id>","until":"<RFC 3339, default now+24h>","reason":"…"}`)
	}
	now := time.Now()
	if p.Until.IsZero() {
		p.Until = now.Add(24 * time.Hour)
	}
	if p.Until.After(now.Add(maxRevocation)) {
		return fiber.NewError(fiber.StatusBadRequest, "until is more than 30 days away")
	}
	if p.Reason == "" {
		p.Reason = "token revoked"
	}
	reason := truncate(p.Reason, 100)
	// Revocations are kept per tenant: one tenant's admin cannot revoke
	// another tenant's tokens by guessing their ids.
	m := cluster.ControlMessage{Kind: cluster.ControlRevoke, Tenant: id.Tenant, JTI: revocationKey(id.Tenant, p.JTI), Until: p.Until.UTC(), Reason: reason}
	if err := s.sendControl(c, m); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"jti": p.JTI, "until": p.Until.UTC()})
}

// adminNodes lists the cluster's live nodes with their connection counts.
func (s *Server) adminNodes(c *fiber.Ctx) error {
	if s.cfg.Nodes == nil {
		return c.JSON(fiber.Map{"nodes": []cluster.NodeInfo{}})
	}
	nodes, err := s.cfg.Nodes.List(c.UserContext())
	if err != nil {
		s.cfg.Logger.Warn("admin nodes failed", "err", err)
		return fiber.NewError(fiber.StatusServiceUnavailable, "node registry unavailable; retry")
	}
	return c.JSON(fiber.Map{"nodes": nodes})
}

func (s *Server) sendControl(c *fiber.Ctx, m cluster.ControlMessage) error {
	if s.cfg.Control == nil {
		return nil
	}
	m.From = s.cfg.Node
	if err := s.cfg.Control.Send(c.UserContext(), m); err != nil {
		s.cfg.Logger.Warn("control send failed", "kind", m.Kind, "err", err)
		return fiber.NewError(fiber.StatusServiceUnavailable, "could not reach the other nodes; retry")
	}
	return nil
}

// SignOut closes every local session of (tenant, user) with 4003 and
// returns how many it closed.
func (s *Server) SignOut(tenant, user, reason string) int {
	n := 0
	for _, sess := range s.cfg.Hub.Sessions() {
		if sess.Tenant == tenant && sess.User == user {
			sess.Close(wire.CloseSignedOut, reason, true)
			n++
		}
	}
	return n
}

// CloseToken closes every local session of tenant whose token has jti.
func (s *Server) CloseToken(tenant, jti, reason string) int {
	n := 0
	for _, sess := range s.cfg.Hub.Sessions() {
		if sess.Tenant == tenant && sess.TokenID() == jti {
			sess.Close(wire.CloseSignedOut, reason, true)
			n++
		}
	}
	return n
}

// HandleControl acts on a control message from any node. A sign-out this
// node sent was already done by the handler that sent it.
func (s *Server) HandleControl(m cluster.ControlMessage) {
	switch m.Kind {
	case cluster.ControlSignOut:
		if m.From != s.cfg.Node {
			s.SignOut(m.Tenant, m.User, m.Reason)
		}
	case cluster.ControlRevoke:
		s.CloseToken(m.Tenant, strings.TrimPrefix(m.JTI, m.Tenant+"/"), m.Reason)
	}
}

// revocationKey names a revoked token in the control channel's list.
func revocationKey(tenant, jti string) string { return tenant + "/" + jti }
