package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// Routes that hash a password get a minute; every other route the
// configured deadline.
func TestRequestDeadlineLongerForPasswordRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	engine := gin.New()
	engine.Use(requestDeadline(5 * time.Second))
	left := map[string]time.Duration{}
	record := func(c *gin.Context) {
		deadline, ok := c.Request.Context().Deadline()
		if !ok {
			t.Errorf("%s has no deadline", c.FullPath())
		}
		left[c.FullPath()] = time.Until(deadline)
	}
	for _, path := range []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/chat/sessions"} {
		engine.POST(path, record)
		engine.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, nil))
	}
	for path, want := range map[string]time.Duration{
		"/api/v1/auth/register": passwordDeadline, "/api/v1/auth/login": passwordDeadline, "/api/v1/chat/sessions": 5 * time.Second,
	} {
		if got := left[path]; got > want || got < want-time.Second {
			t.Errorf("%s: deadline in %v, want %v", path, got, want)
		}
	}
}
