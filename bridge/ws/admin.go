package ws

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/wire"
)

// The admin API lets a tenant's back end push to its dashboards and sign
// users out. Every call needs "Authorization: Bearer <JWT>" with the admin
// claim; the tenant is the token's, as on the WebSocket.

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
	api.Post("/publish", s.adminPublish)
	api.Post("/signout", s.adminSignOut)
}

func (s *Server) adminAuth(c *fiber.Ctx) error {
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
	if !id.Admin {
		return fiber.NewError(fiber.StatusForbidden, "admin API: token lacks the admin claim")
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
	return c.JSON(wire.PublishResult{Offset: s.publish(id.Tenant, ch, p.Data)})
}

// adminSignOut closes every session of a user in the token's tenant with
// 4003, which tells clients not to reconnect (PROTOCOL.md close codes).
func (s *Server) adminSignOut(c *fiber.Ctx) error {
	id := c.Locals("identity").(*auth.Identity)
	var p adminSignOut
	if err := json.Unmarshal(c.Body(), &p); err != nil || p.User == "" {
		return fiber.NewError(fiber.StatusBadRequest, `body must be {"user":"<sub>","reason":"…"}`)
	}
	if p.Reason == "" {
		p.Reason = "signed out by admin"
	}
	n := 0
	for _, sess := range s.cfg.Hub.Sessions() {
		if sess.Tenant == id.Tenant && sess.User == p.User {
			sess.Close(wire.CloseSignedOut, truncate(p.Reason, 100), true)
			n++
		}
	}
	return c.JSON(fiber.Map{"sessions": n})
}
