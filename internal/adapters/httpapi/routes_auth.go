package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/ports"
)

type authRoutes struct {
	cfg      Config
	register *app.Register
	login    *app.Login
	refresh  *app.Refresh
	logout   *app.Logout
	users    ports.UserRepository
	limiter  ports.RateLimiter
	clock    ports.Clock
}

func newAuthRoutes(cfg Config, register *app.Register, login *app.Login, refresh *app.Refresh, logout *app.Logout,
	users ports.UserRepository, limiter ports.RateLimiter, clock ports.Clock,
) *authRoutes {
	return &authRoutes{cfg: cfg, register: register, login: login, refresh: refresh, logout: logout, users: users,
		limiter: limiter, clock: clock}
}

func (h *authRoutes) Mount(g RouteGroups) {
	perAddress := rateLimit(h.limiter, h.clock, ports.Rate{PerMinute: h.cfg.RateLimitAuth}, "auth",
		func(c *gin.Context) string { return c.ClientIP() })
	auth := g.Public.Group("/auth")
	auth.POST("/register", perAddress, handle(h.postRegister))
	auth.POST("/login", perAddress, handle(h.postLogin))
	auth.POST("/refresh", perAddress, handle(h.postRefresh))
	auth.POST("/logout", handle(h.postLogout))
	g.Authed.GET("/auth/me", handle(h.getMe))
}

func (h *authRoutes) postRegister(c *gin.Context) error {
	var req registerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := h.register.Handle(c.Request.Context(), app.RegisterCmd{
		Email: req.Email, Password: req.Password, DisplayName: req.DisplayName,
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toAuthResponse(res))
	return nil
}

func (h *authRoutes) postLogin(c *gin.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// Per-account attempts are limited too, so one address cannot be
	// rotated to guess one account's password.
	account := "login:" + strings.ToLower(strings.TrimSpace(req.Email))
	ok, retry, err := h.limiter.Allow(c.Request.Context(), account, ports.Rate{PerMinute: h.cfg.RateLimitAuth}, h.clock.Now())
	if err != nil {
		return limitsUnavailable(err)
	}
	if !ok {
		return rateLimitedLogin(retry)
	}
	res, err := h.login.Handle(c.Request.Context(), app.LoginCmd{Email: req.Email, Password: req.Password})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toAuthResponse(res))
	return nil
}

func (h *authRoutes) postRefresh(c *gin.Context) error {
	var req refreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := h.refresh.Handle(c.Request.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toAuthResponse(res))
	return nil
}

func (h *authRoutes) postLogout(c *gin.Context) error {
	var req refreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.logout.Handle(c.Request.Context(), req.RefreshToken); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h *authRoutes) getMe(c *gin.Context) error {
	u, err := h.users.GetByID(c.Request.Context(), callerOf(c).UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toUserResponse(u))
	return nil
}
