package httpapi

import (
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	callerUserIDKey = "chatd.caller.user_id"
	callerRoleKey   = "chatd.caller.role"
)

// authenticate turns a bearer token into the caller; the app authorizes.
func authenticate(tokens ports.TokenIssuer) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			_ = c.Error(domain.Unauthenticated("missing-token", "send an Authorization: Bearer <access_token> header"))
			c.Abort()
			return
		}
		claims, err := tokens.VerifyAccess(token)
		if err != nil {
			_ = c.Error(err)
			c.Abort()
			return
		}
		c.Set(callerUserIDKey, claims.UserID)
		c.Set(callerRoleKey, string(claims.Role))
		c.Next()
	}
}

func bearerToken(header string) (string, bool) {
	scheme, token, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func callerOf(c *gin.Context) app.Caller {
	return app.Caller{UserID: c.GetString(callerUserIDKey), Role: domain.UserRole(c.GetString(callerRoleKey))}
}

// rateLimit spends one event of the budget keyed by key(c); over it is 429.
func rateLimit(limiter ports.RateLimiter, clock ports.Clock, rate ports.Rate, scope string, key func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ok, retryAfter, err := limiter.Allow(c.Request.Context(), scope+":"+key(c), rate, clock.Now())
		if err != nil {
			// Fail closed: the shared store keeps the limits of the whole
			// service, and a limit nobody can check is not a limit.
			_ = c.Error(limitsUnavailable(err))
			c.Abort()
			return
		}
		if !ok {
			_ = c.Error(domain.RateLimited("rate-limited", "too many requests; retry after the time in Retry-After", retryAfter))
			c.Abort()
			return
		}
		c.Next()
	}
}

func limitsUnavailable(err error) error {
	return domain.Unavailable("limits-unavailable", "the service cannot check rate limits right now; try again shortly", err)
}

func rateLimitedLogin(retryAfter time.Duration) error {
	return domain.RateLimited("too-many-login-attempts", "too many login attempts for this account; retry later", retryAfter)
}
